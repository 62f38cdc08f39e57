// What the given accounts bought: one row per account x product with its aggregates.
UNWIND $ids AS account_id
MATCH (a:Account {id: account_id})-[b:BOUGHT]->(p:Product)
RETURN a.id AS account_id, p.sku AS sku, b.revenue AS revenue, b.orders AS orders,
       b.quantity AS quantity, toString(b.first_at) AS first_at, toString(b.last_at) AS last_at
