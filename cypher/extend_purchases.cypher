// Append order lines to the ledgers of existing BOUGHT relationships and set the aggregates the
// client recomputed over each whole ledger (old lines, then these), exactly what
// create_purchases would have written for the same lines in one load.
// Parameters: per pair i its relationship $ids[i] (element id), $known[i] the ledger length the
// client read (a ledger that changed since is left alone, so the caller's count tells it), the
// new aggregates $orders, $quantity, $revenue, $first_at, $last_at (seconds) and its new lines
// $offsets[i] .. $offsets[i + 1] - 1 of the per-line lists $line_ids, $order_ids, $line_at,
// $quantities, $revenues. A SET by element id locks only the relationship: no MERGE, no node
// locks, so batches of different pairs can be written concurrently. The lock is taken before
// the length is compared: checked first, a second writer's comparison passed on the ledger
// before the first one's commit and wrote aggregates that missed its lines.
// Returns the number of lines appended.
UNWIND range(0, size($ids) - 1) AS i
MATCH ()-[b:BOUGHT]->()
WHERE elementId(b) = $ids[i]
SET b.orders = b.orders // the lock first (see above)
WITH b, i
WHERE size(b.line_ids) = $known[i]
WITH b, i, $offsets[i] AS s, $offsets[i + 1] AS e
SET b.line_ids = b.line_ids + $line_ids[s..e],
    b.line_orders = b.line_orders + $order_ids[s..e],
    b.line_at = b.line_at + $line_at[s..e],
    b.line_quantities = b.line_quantities + $quantities[s..e],
    b.line_revenues = b.line_revenues + $revenues[s..e],
    b.orders = $orders[i],
    b.quantity = $quantity[i],
    b.revenue = $revenue[i],
    b.first_at = localdatetime(datetime({epochSeconds: $first_at[i]})),
    b.last_at = localdatetime(datetime({epochSeconds: $last_at[i]}))
RETURN coalesce(sum(e - s), 0) AS lines
