// The number of the latest change (0 before the first): training records it as the artifact's
// cutoff, and serving replays only the changes after it.
OPTIONAL MATCH (f:ChangeFeed {id: 'changes'})
RETURN coalesce(f.seq, 0) AS seq
