// What the given accounts bought: one row per account x product with its revenue (all its lines).
UNWIND $ids AS account_id
MATCH (a:Account {id: account_id})-[b:BOUGHT]->(p:Product)
RETURN a.id AS account_id, p.sku AS sku, b.revenue AS revenue
