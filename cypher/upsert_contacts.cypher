// Contacts: (:Account)-[:HAS_CONTACT]->(:Contact). A contact moved to another account in the
// file loses its link to the old one.
UNWIND $rows AS row
MATCH (a:Account {id: row.account_id})
MERGE (c:Contact {id: row.id})
SET c.name = row.name,
    c.role = row.role,
    c.influence = row.influence,
    c.email = row.email,
    c.left_at = row.left_at
WITH c, a
OPTIONAL MATCH (other:Account)-[old:HAS_CONTACT]->(c) WHERE other <> a
DELETE old
WITH DISTINCT c, a
MERGE (a)-[:HAS_CONTACT]->(c)
RETURN count(c) AS written
