// The accounts with the most revenue (all purchases), for whitespace matrices and plans.
MATCH (a:Account)-[b:BOUGHT]->(:Product)
WITH a, sum(b.revenue) AS revenue
RETURN a.id AS id, revenue
ORDER BY revenue DESC, id
LIMIT $limit
