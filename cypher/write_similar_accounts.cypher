// Write-back: each account's closest peers by the model, stamped with the model version.
// MERGE updates an existing SIMILAR_TO in place, so there is no moment without peers;
// delete_stale_similar then removes pairs the new version no longer has.
UNWIND $rows AS row
MATCH (a:Account {id: row.account_id})
UNWIND range(0, size(row.peers) - 1) AS i
MATCH (b:Account {id: row.peers[i]})
MERGE (a)-[s:SIMILAR_TO]->(b)
SET s.score = row.scores[i], s.rank = i + 1, s.model_version = $version
RETURN count(s) AS written
