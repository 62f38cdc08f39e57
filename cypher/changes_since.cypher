// The accounts changed after change number $after, oldest first, and the newest number read.
MATCH (c:Change)
WHERE c.seq > $after
WITH c ORDER BY c.seq
LIMIT $limit
RETURN collect(DISTINCT c.account_id) AS accounts, max(c.seq) AS seq
