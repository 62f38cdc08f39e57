// The order-line ledger of every BOUGHT, for building the training matrix. line_at is in
// seconds since 1970-01-01 00:00 (local business time). $before (same unit, or null) keeps
// only lines strictly before it, so nothing on or after a cutoff leaks into a fit.
MATCH (a:Account)-[b:BOUGHT]->(p:Product)
WITH a, p, b,
     [i IN range(0, size(b.line_ids) - 1)
        WHERE $before IS NULL OR b.line_at[i] < $before] AS keep
WHERE size(keep) > 0
RETURN a.id AS account_id, p.sku AS sku,
       [i IN keep | b.line_ids[i]] AS line_ids,
       [i IN keep | b.line_orders[i]] AS order_ids,
       [i IN keep | b.line_at[i]] AS line_at,
       [i IN keep | b.line_quantities[i]] AS quantities,
       [i IN keep | b.line_revenues[i]] AS revenues
