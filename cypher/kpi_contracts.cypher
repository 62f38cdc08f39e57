// Every contract with its account, the service product sold (null when none is named) and the
// products it covers. All terms are returned, also future ones: a term signed to follow an
// ending one is its renewal.
MATCH (a:Account)-[:HAS_CONTRACT]->(c:Contract)
OPTIONAL MATCH (c)-[:FOR_PRODUCT]->(p:Product)
OPTIONAL MATCH (c)-[:COVERS]->(covered:Product)
RETURN c.id AS id, a.id AS account_id, p.sku AS sku, c.level AS level,
       c.starts_at AS starts_at, c.ends_at AS ends_at, c.annual_value AS annual_value,
       collect(covered.sku) AS covers
