// Which of the given account ids exist in the graph.
UNWIND $ids AS id
MATCH (a:Account {id: id})
RETURN a.id AS id
