// How each of the given peers bought one product: when, how often, and what it had bought before.
UNWIND $peer_ids AS peer_id
MATCH (a:Account {id: peer_id})-[b:BOUGHT]->(:Product {sku: $sku})
OPTIONAL MATCH (a)-[earlier:BOUGHT]->(q:Product)
  WHERE earlier.first_at < b.first_at
RETURN a.id AS account_id, b.first_at AS first_at, b.last_at AS last_at, b.orders AS orders,
       b.quantity AS quantity, b.revenue AS revenue, collect(q.sku) AS bought_before
