// Trigger events and field notes: (:Account)-[:HAD_EVENT]->(:Event)-[:ABOUT]->(:Product).
UNWIND $rows AS row
MATCH (a:Account {id: row.account_id})
MERGE (e:Event {id: row.id})
SET e.type = row.type,
    e.occurred_at = row.occurred_at,
    e.text = row.text,
    e.sku = row.sku
WITH e, a, row
OPTIONAL MATCH (other:Account)-[old:HAD_EVENT]->(e) WHERE other <> a
DELETE old
WITH e, a, row
MERGE (a)-[:HAD_EVENT]->(e)
WITH e, row
OPTIONAL MATCH (e)-[old_about:ABOUT]->(p:Product) WHERE row.sku IS NULL OR p.sku <> row.sku
DELETE old_about
WITH DISTINCT e, row
CALL (e, row) {
  WITH e, row WHERE row.sku IS NOT NULL
  MATCH (p:Product {sku: row.sku})
  MERGE (e)-[:ABOUT]->(p)
}
RETURN count(e) AS written
