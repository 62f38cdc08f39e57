// Everything the evidence for one account x product reads from the graph, in one row (one round
// trip): what the account has bought (nothing when it is not in the graph); how each of $peer_ids bought
// $sku (when, how often, and what it had bought before, by sku); and the account's latest
// dismissal of $sku (null when none).
OPTIONAL MATCH (me:Account {id: $account_id})
CALL (me) {
  OPTIONAL MATCH (me)-[:BOUGHT]->(p:Product)
  RETURN collect(p.sku) AS owned
}
CALL () {
  UNWIND $peer_ids AS peer_id
  MATCH (a:Account {id: peer_id})-[b:BOUGHT]->(:Product {sku: $sku})
  OPTIONAL MATCH (a)-[earlier:BOUGHT]->(q:Product)
    WHERE earlier.first_at < b.first_at
  WITH a, b, q
  ORDER BY q.sku  // each peer's earlier products by sku: owned_before's ties resolve the same way each time
  WITH a, b, collect(q.sku) AS bought_before
  RETURN collect({
    account_id: a.id, first_at: b.first_at, last_at: b.last_at, orders: b.orders,
    quantity: b.quantity, revenue: b.revenue, bought_before: bought_before
  }) AS purchases
}
CALL () {
  MATCH (f:Feedback {action: 'dismissed'})-[:FOR_ACCOUNT]->(:Account {id: $account_id})
  MATCH (f)-[:FOR_PRODUCT]->(:Product {sku: $sku})
  WITH f
  ORDER BY f.at DESC
  LIMIT 1
  RETURN collect({at: f.at, user: f.user, note: f.note}) AS dismissals
}
RETURN owned, purchases, dismissals[0] AS last_dismissal
