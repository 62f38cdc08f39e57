// After a write-back: remove RECOMMENDED of other model versions.
MATCH ()-[r:RECOMMENDED]->()
WHERE r.model_version <> $version
CALL (r) {
  DELETE r
} IN TRANSACTIONS OF 20000 ROWS
