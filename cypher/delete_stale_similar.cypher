// After a write-back: remove SIMILAR_TO of other model versions.
MATCH ()-[s:SIMILAR_TO]->()
WHERE s.model_version <> $version
CALL (s) {
  DELETE s
} IN TRANSACTIONS OF 20000 ROWS
