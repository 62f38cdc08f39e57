// Group structure: (:Account)-[:PART_OF]->(:Account); a changed parent replaces the old link.
UNWIND $rows AS row
MATCH (a:Account {id: row.id})
OPTIONAL MATCH (a)-[old:PART_OF]->(previous:Account)
  WHERE row.parent_id IS NULL OR previous.id <> row.parent_id
DELETE old
WITH a, row
WHERE row.parent_id IS NOT NULL
MATCH (parent:Account {id: row.parent_id})
MERGE (a)-[:PART_OF]->(parent)
RETURN count(*) AS written
