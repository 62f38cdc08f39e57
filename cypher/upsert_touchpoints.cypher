// Touchpoints: (:Account)-[:HAD_TOUCHPOINT]->(:Touchpoint)-[:WITH]->(:Contact).
UNWIND $rows AS row
MATCH (a:Account {id: row.account_id})
MERGE (t:Touchpoint {id: row.id})
SET t.type = row.type,
    t.occurred_at = row.occurred_at,
    t.owner = row.owner,
    t.notes = row.notes,
    t.contact_id = row.contact_id
WITH t, a, row
OPTIONAL MATCH (other:Account)-[old:HAD_TOUCHPOINT]->(t) WHERE other <> a
DELETE old
WITH t, a, row
MERGE (a)-[:HAD_TOUCHPOINT]->(t)
WITH t, row
OPTIONAL MATCH (t)-[old_with:WITH]->(c:Contact) WHERE row.contact_id IS NULL OR c.id <> row.contact_id
DELETE old_with
WITH DISTINCT t, row
CALL (t, row) {
  WITH t, row WHERE row.contact_id IS NOT NULL
  MATCH (c:Contact {id: row.contact_id})
  MERGE (t)-[:WITH]->(c)
}
RETURN count(t) AS written
