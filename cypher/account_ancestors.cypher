// The PART_OF links from the given accounts up to the top of their groups, as (id, parent_id)
// pairs: what the loader needs to refuse a parent that would close a cycle.
UNWIND $ids AS id
MATCH (:Account {id: id})-[:PART_OF*0..]->(a:Account)-[:PART_OF]->(parent:Account)
RETURN DISTINCT a.id AS id, parent.id AS parent_id
