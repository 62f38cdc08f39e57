// Contracts: (:Account)-[:HAS_CONTRACT]->(:Contract)-[:COVERS]->(:Product);
// (:Contract)-[:FOR_PRODUCT]->(:Product) names the service product sold.
UNWIND $rows AS row
MATCH (a:Account {id: row.account_id})
MERGE (c:Contract {id: row.id})
SET c.level = row.level,
    c.starts_at = row.starts_at,
    c.ends_at = row.ends_at,
    c.annual_value = row.annual_value,
    c.sku = row.sku
WITH c, a, row
OPTIONAL MATCH (holder:Account)-[old_holder:HAS_CONTRACT]->(c) WHERE holder <> a
DELETE old_holder
WITH c, a, row
MERGE (a)-[:HAS_CONTRACT]->(c)
WITH c, row
OPTIONAL MATCH (c)-[old_cover:COVERS|FOR_PRODUCT]->(:Product)
DELETE old_cover
WITH DISTINCT c, row
CALL (c, row) {
  UNWIND coalesce(row.covers, []) AS covered
  MATCH (p:Product {sku: covered})
  MERGE (c)-[:COVERS]->(p)
}
CALL (c, row) {
  WITH c, row WHERE row.sku IS NOT NULL
  MATCH (p:Product {sku: row.sku})
  MERGE (c)-[:FOR_PRODUCT]->(p)
}
RETURN count(c) AS written
