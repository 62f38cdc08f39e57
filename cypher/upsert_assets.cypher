// Installed base: (:Account)-[:OWNS]->(:Asset)-[:OF_MODEL]->(:Product).
UNWIND $rows AS row
MATCH (a:Account {id: row.account_id})
MATCH (p:Product {sku: row.sku})
MERGE (s:Asset {serial: row.serial})
SET s.installed_at = row.installed_at,
    s.utilization = row.utilization,
    s.config = row.config
WITH s, a, p
OPTIONAL MATCH (owner:Account)-[old_owner:OWNS]->(s) WHERE owner <> a
DELETE old_owner
WITH s, a, p
OPTIONAL MATCH (s)-[old_model:OF_MODEL]->(m:Product) WHERE m <> p
DELETE old_model
WITH s, a, p
MERGE (a)-[:OWNS]->(s)
MERGE (s)-[:OF_MODEL]->(p)
RETURN count(s) AS written
