// Which of the given contact ids exist in the graph, and the account each belongs to.
UNWIND $ids AS id
MATCH (a:Account)-[:HAS_CONTACT]->(c:Contact {id: id})
RETURN c.id AS id, a.id AS account_id
