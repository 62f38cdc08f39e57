// What the account is compared with: each given peer's contracts and how it buys the
// account's products ($skus), with order-line ledgers so the caller can cut at any date.
// Unknown ids and the account itself ($id) are skipped.
UNWIND $peer_ids AS peer_id
MATCH (p:Account {id: peer_id})
  WHERE p.id <> $id
CALL (p) {
  MATCH (p)-[:HAS_CONTRACT]->(c:Contract)
  RETURN collect(c {.id, .level, .starts_at, .ends_at}) AS contracts
}
CALL (p) {
  MATCH (p)-[b:BOUGHT]->(prod:Product)
    WHERE prod.sku IN $skus
  RETURN collect({
    sku: prod.sku, line_at: b.line_at, line_orders: b.line_orders,
    line_quantities: b.line_quantities, line_revenues: b.line_revenues
  }) AS bought
}
RETURN DISTINCT p.id AS id, contracts, bought
ORDER BY id
