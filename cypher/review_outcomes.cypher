// What happened to products of the given accounts in [$since, $until): first purchases (an
// account x product pair whose first order line lies in the window) and feedback (won, lost,
// dismissed) recorded in it, the latest per pair.
MATCH (a:Account)
WHERE a.id IN $ids
CALL (a) {
  MATCH (a)-[b:BOUGHT]->(p:Product)
  WHERE b.first_at >= $since_time AND b.first_at < $until_time
  RETURN collect({sku: p.sku, revenue: b.revenue}) AS bought
}
CALL (a) {
  MATCH (f:Feedback)-[:FOR_ACCOUNT]->(a), (f)-[:FOR_PRODUCT]->(p:Product)
  WHERE f.action IN ['won', 'lost', 'dismissed'] AND f.at >= $since_zoned AND f.at < $until_zoned
  WITH p, f ORDER BY f.at DESC
  WITH p, collect(f)[0] AS last
  RETURN collect({sku: p.sku, action: last.action, value: last.value}) AS feedback
}
RETURN a.id AS account_id, bought, feedback
