// The order-line ledger of every BOUGHT, for building the training matrix, one record per
// account (the driver spends about 20 us per record, so 2M pair records cost 45 s of client
// CPU; 100k account records a fraction of that). Per account: its skus and, per sku, the
// lists of the lines kept. line_at is in seconds since 1970-01-01 00:00 (local business
// time). $before (same unit, or null) keeps only lines strictly before it, so nothing on or
// after a cutoff leaks into a fit. Each ledger property is read once (b.x[i] inside a list
// comprehension reads the whole array again for every i), and whole ledgers are returned as
// they are when nothing is cut. Only the accounts with $first <= id <= $last (a range of
// account_id_bounds): a seek between two ids in the id index, not a scan of every BOUGHT.
// Without $line_ids (training never uses them) every pair's line ids come back empty.
MATCH (a:Account)
WHERE a.id >= $first AND a.id <= $last
MATCH (a)-[b:BOUGHT]->(p:Product)
WITH a, p, b.line_ids AS ids, b.line_orders AS orders, b.line_at AS at,
     b.line_quantities AS quantities, b.line_revenues AS revenues
WITH a, p, ids, orders, at, quantities, revenues,
     CASE WHEN $before IS NULL THEN range(0, size(ids) - 1)
          ELSE [i IN range(0, size(ids) - 1) WHERE at[i] < $before] END AS keep
WHERE size(keep) > 0
WITH a, p, ids, orders, at, quantities, revenues, keep, size(keep) = size(ids) AS whole
WITH a, p.sku AS sku,
     CASE WHEN NOT $line_ids THEN [] WHEN whole THEN ids ELSE [i IN keep | ids[i]] END AS line_ids,
     CASE WHEN whole THEN orders ELSE [i IN keep | orders[i]] END AS order_ids,
     CASE WHEN whole THEN at ELSE [i IN keep | at[i]] END AS line_at,
     CASE WHEN whole THEN quantities ELSE [i IN keep | quantities[i]] END AS quantities,
     CASE WHEN whole THEN revenues ELSE [i IN keep | revenues[i]] END AS revenues
RETURN a.id AS account_id, collect(sku) AS skus, collect(line_ids) AS line_ids,
       collect(order_ids) AS order_ids, collect(line_at) AS line_at,
       collect(quantities) AS quantities, collect(revenues) AS revenues
