// Products by sku, their category node and the machines they fit.
UNWIND $rows AS row
MERGE (p:Product {sku: row.sku})
SET p.name = row.name,
    p.category = row.category,
    p.kind = row.kind,
    p.tier = row.tier,
    p.active = row.active,
    p.list_price = row.list_price,
    p.margin = row.margin
WITH p, row
OPTIONAL MATCH (p)-[old:IN_CATEGORY]->(c:Category)
  WHERE row.category IS NULL OR c.name <> row.category
DELETE old
WITH p, row
CALL (p, row) {
  WITH p, row WHERE row.category IS NOT NULL
  MERGE (c:Category {name: row.category})
  MERGE (p)-[:IN_CATEGORY]->(c)
}
RETURN count(p) AS written
