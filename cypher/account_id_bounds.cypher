// Account ids that cut all accounts into ranges of $size accounts (the last one shorter),
// ascending: the first id of every range but the first. An export reads the ranges one query
// each, so no query holds more than $size accounts' ledgers in the server's memory.
MATCH (a:Account)
WITH a.id AS id ORDER BY id
WITH collect(id) AS ids
RETURN [i IN range(1, (size(ids) - 1) / $size) | ids[i * $size]] AS bounds
