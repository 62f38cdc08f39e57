// Write-back: each account's closest peers by the model, stamped with the model version.
// Per account and in one transaction, its outgoing SIMILAR_TO (of any version) are brought to
// the new list, so a reader never sees an account without peers: a relationship to a peer
// still on the list is updated in place (score, rank, version), one to a peer no longer on it
// is deleted, and new peers get a new relationship. A nightly retrain keeps most peers, and an
// update costs a fraction of a delete plus a create. delete_stale_similar then removes those
// of accounts the new version does not have.
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
WITH a, $offsets[j] AS first, [
  i IN range($offsets[j], $offsets[j + 1] - 1) WHERE peers[$target_of[i]][0] IS NOT NULL
  | [i, peers[$target_of[i]][0]]
] AS items
CALL (a, first, items) {
  OPTIONAL MATCH (a)-[old:SIMILAR_TO]->(b)
  WITH old, [item IN items WHERE item[1] = b | item[0]] AS same
  FOREACH (_ IN CASE WHEN old IS NOT NULL AND size(same) = 0 THEN [1] ELSE [] END | DELETE old)
  FOREACH (i IN same[0..1] |
    SET old.score = $scores[i], old.rank = i - first + 1, old.model_version = $version)
  RETURN collect(same[0]) AS kept
}
CALL (a, first, items, kept) {
  UNWIND items AS item
  WITH item[0] AS i, item[1] AS b
  WHERE NOT i IN kept
  CREATE (a)-[:SIMILAR_TO {score: $scores[i], rank: i - first + 1, model_version: $version}]->(b)
}
RETURN sum(size(items)) AS written
