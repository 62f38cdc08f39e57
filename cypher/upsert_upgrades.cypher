// Upsell paths between products.
UNWIND $rows AS row
MATCH (a:Product {sku: row.from_sku})
MATCH (b:Product {sku: row.to_sku})
MERGE (a)-[:UPGRADES_TO]->(b)
RETURN count(*) AS written
