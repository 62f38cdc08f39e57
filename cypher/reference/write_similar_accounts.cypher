// Reference for benchmarks/writeback.py only: the write-back before in-place updates (until
// commit 9227ed6). Per batch it deletes every relationship of its accounts and creates all anew.
// Write-back: each account's closest peers by the model, stamped with the model version.
// Per account and in one transaction, its outgoing SIMILAR_TO (of any version) are deleted and
// the new ones created, so a reader never sees an account without peers; delete_stale_similar
// then removes those of accounts the new version does not have.
// Parameters: the batch's distinct $targets, each looked up once (a peer that is not in the
// graph leaves its relationships out, as a MATCH would); its $accounts, account j holding the
// items $offsets[j] .. $offsets[j + 1] - 1 (none: its SIMILAR_TO are only deleted); per item
// i: its peer $targets[$target_of[i]] and $scores[i]. The rank is the item's place in its
// account's list (1 = closest); $version stamps them.
UNWIND range(0, size($targets) - 1) AS k
OPTIONAL MATCH (b:Account {id: $targets[k]})
WITH k, b ORDER BY k
WITH collect([b]) AS peers
UNWIND range(0, size($accounts) - 1) AS j
MATCH (a:Account {id: $accounts[j]})
CALL (a) {
  OPTIONAL MATCH (a)-[old:SIMILAR_TO]->()
  DELETE old
}
UNWIND range($offsets[j], $offsets[j + 1] - 1) AS i
WITH a, i, $offsets[j] AS first, peers[$target_of[i]][0] AS b
WHERE b IS NOT NULL
CREATE (a)-[:SIMILAR_TO {score: $scores[i], rank: i - first + 1, model_version: $version}]->(b)
RETURN count(*) AS written
