// One change of the feed: the accounts whose purchases, won deals or attributes were just written
// (by the API or a load). The feed node's counter is taken under its write lock, so concurrent
// writers get distinct, increasing numbers; serving workers read the changes after the last
// number they saw (changes_since) and refold those accounts from the graph.
MERGE (f:ChangeFeed {id: 'changes'})
SET f.seq = coalesce(f.seq, 0) + 1
WITH f
UNWIND $accounts AS account_id
CREATE (:Change {seq: f.seq, account_id: account_id, kind: $kind, at: datetime()})
RETURN f.seq AS seq, count(*) AS accounts
