// What fold-in needs of $ids, from the graph as it is now: the account's attributes, its
// purchases per product (aggregates of the BOUGHT ledger), the products it won (feedback
// 'won' without a BOUGHT yet: a purchase of one order, as training exports them) and the
// products it has installed (owned, not purchases). Unknown ids return nothing. Each subquery
// ends in an aggregation, so it returns one row (empty lists) even when nothing matches.
UNWIND $ids AS id
MATCH (a:Account {id: id})
CALL (a) {
  MATCH (a)-[b:BOUGHT]->(p:Product)
  RETURN collect(p.sku) AS skus, collect(b.orders) AS orders, collect(size(b.line_ids)) AS lines,
         collect(b.quantity) AS quantities, collect(b.revenue) AS revenues,
         collect(datetime({datetime: b.last_at, timezone: "UTC"}).epochSeconds) AS last_at
}
CALL (a) {
  MATCH (f:Feedback {action: 'won'})-[:FOR_ACCOUNT]->(a), (f)-[:FOR_PRODUCT]->(p:Product)
  WHERE NOT (a)-[:BOUGHT]->(p)
  WITH p, count(f) AS deals, max(f.at.epochSeconds) AS at, sum(coalesce(f.value, p.list_price, 0.0)) AS value
  RETURN collect(p.sku) AS won, collect(deals) AS won_orders, collect(at) AS won_at,
         collect(value) AS won_revenues
}
CALL (a) {
  MATCH (a)-[:OWNS]->(:Asset)-[:OF_MODEL]->(p:Product)
  RETURN collect(DISTINCT p.sku) AS installed
}
RETURN a.id AS id, a.name AS name, a.industry AS industry, a.country AS country,
       skus, orders, lines, quantities, revenues, last_at, won, won_orders, won_at, won_revenues, installed
