// Revenue per account in two windows [$since, $until) and [$before, $since) (epoch seconds of
// local business time), from the order-line ledgers; accounts with revenue in either window.
MATCH (a:Account)-[b:BOUGHT]->(:Product)
WHERE $ids IS NULL OR a.id IN $ids
WITH a, b, range(0, size(b.line_at) - 1) AS lines
WITH a,
     reduce(s = 0.0, i IN lines |
       s + CASE WHEN b.line_at[i] >= $since AND b.line_at[i] < $until THEN b.line_revenues[i] ELSE 0.0 END) AS now,
     reduce(s = 0.0, i IN lines |
       s + CASE WHEN b.line_at[i] >= $before AND b.line_at[i] < $since THEN b.line_revenues[i] ELSE 0.0 END) AS before
WITH a, sum(now) AS revenue, sum(before) AS previous
WHERE revenue > 0 OR previous > 0
RETURN a.id AS id, a.name AS name, revenue, previous
ORDER BY revenue DESC, id
