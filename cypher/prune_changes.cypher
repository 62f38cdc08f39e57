// Delete up to $limit changes recorded before $before (the change feed's retention); the
// caller repeats until none is left, so no transaction grows with the feed.
MATCH (c:Change)
WHERE c.at < datetime($before)
WITH c LIMIT $limit
DELETE c
RETURN count(*) AS deleted
