// Delete every relationship, then every node, in batches (the schema stays).
MATCH ()-[r]->()
CALL (r) {
  DELETE r
} IN TRANSACTIONS OF 20000 ROWS;
MATCH (n)
CALL (n) {
  DELETE n
} IN TRANSACTIONS OF 20000 ROWS
