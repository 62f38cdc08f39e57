// All accounts cut into ranges of $size accounts (the last one shorter), ascending: the first
// and the last id of each. An export reads the ranges one query each, so no query holds more
// than $size accounts' ledgers in the server's memory, and each is a seek between two ids in
// the id index.
MATCH (a:Account)
WITH a.id AS id ORDER BY id
WITH collect(id) AS ids
RETURN [i IN range(0, (size(ids) - 1) / $size) WHERE size(ids) > 0 |
        [ids[i * $size], ids[CASE WHEN (i + 1) * $size < size(ids) THEN (i + 1) * $size ELSE size(ids) END - 1]]]
       AS ranges
