// Order lines -> one BOUGHT per account x product, for pairs that may already have one.
// BOUGHT keeps a ledger of the lines it has counted (line_ids and the values of each line;
// line_at in seconds since 1970-01-01 00:00 local business time, read as UTC so no zone
// shifts it: compact and fast to cut by date), so a line seen before is never counted again:
// - a pair without a BOUGHT gets one with the pair's lines and the aggregates sent (exactly
//   what create_purchases writes);
// - an existing pair gets only the lines not yet in its ledger, and its aggregates are
//   recomputed from the whole ledger (orders with count(DISTINCT): linear, where a list
//   `reduce` that skips repeats is quadratic in the ledger's length).
// Loading the same file twice therefore writes nothing; training can cut the ledger at any date.
// Parameters as create_purchases' (the batch's $accounts, $products, per pair and per line
// parallel lists). Returns the number of lines added to the ledgers, so the caller needs no
// count of every ledger before and after.
UNWIND range(0, size($products) - 1) AS k
OPTIONAL MATCH (p:Product {sku: $products[k]})
WITH k, p ORDER BY k
WITH collect([p]) AS products
UNWIND range(0, size($accounts) - 1) AS j
MATCH (a:Account {id: $accounts[j]})
UNWIND range($account_pairs[j], $account_pairs[j + 1] - 1) AS i
WITH a, products[$product_of_pair[i]][0] AS p, i, $offsets[i] AS s, $offsets[i + 1] AS e
WHERE p IS NOT NULL
MERGE (a)-[b:BOUGHT]->(p)
  ON CREATE SET
    b.line_ids = [],
    b.line_orders = [],
    b.line_at = [],
    b.line_quantities = [],
    b.line_revenues = []
WITH b, i, s, e, b.line_ids AS known
WITH b, i, known, [x IN range(s, e - 1) WHERE NOT $line_ids[x] IN known] AS fresh
WHERE size(fresh) > 0
WITH b, i, fresh, size(known) = 0 AS created,
     known + [x IN fresh | $line_ids[x]] AS line_ids,
     b.line_orders + [x IN fresh | $order_ids[x]] AS line_orders,
     b.line_at + [x IN fresh | $line_at[x]] AS line_at,
     b.line_quantities + [x IN fresh | $quantities[x]] AS line_quantities,
     b.line_revenues + [x IN fresh | $revenues[x]] AS line_revenues
CALL (line_orders) {
  UNWIND line_orders AS o
  RETURN count(DISTINCT o) AS orders
}
SET b.line_ids = line_ids,
    b.line_orders = line_orders,
    b.line_at = line_at,
    b.line_quantities = line_quantities,
    b.line_revenues = line_revenues,
    b.orders = orders,
    b.quantity = CASE WHEN created THEN $quantity[i] ELSE reduce(total = 0.0, q IN line_quantities | total + q) END,
    b.revenue = CASE WHEN created THEN $revenue[i] ELSE reduce(total = 0.0, r IN line_revenues | total + r) END,
    b.first_at = localdatetime(datetime({epochSeconds: CASE WHEN created THEN $first_at[i] ELSE reduce(m = line_at[0], t IN line_at | CASE WHEN t < m THEN t ELSE m END) END})),
    b.last_at = localdatetime(datetime({epochSeconds: CASE WHEN created THEN $last_at[i] ELSE reduce(m = line_at[0], t IN line_at | CASE WHEN t > m THEN t ELSE m END) END}))
RETURN coalesce(sum(size(fresh)), 0) AS lines
