// Order lines -> one BOUGHT per account x product. Each row carries the lines of one pair as
// parallel lists plus their aggregates. BOUGHT keeps a ledger of the lines it has counted
// (line_ids and the values of each line; line_at in seconds since 1970-01-01 00:00 local
// business time, read as UTC so no zone shifts it: compact and fast to cut by date), so a line seen before is never counted again:
// - a new pair is created with the row's ledger and aggregates as they are (as create_purchases
//   does for the pairs a load knows to be new);
// - an existing pair gets only the lines not yet in its ledger, and its aggregates are
//   recomputed from the whole ledger.
// Loading the same file twice therefore writes nothing; training can cut the ledger at any date.
UNWIND $rows AS row
MATCH (a:Account {id: row.account_id})
MATCH (p:Product {sku: row.sku})
MERGE (a)-[b:BOUGHT]->(p)
  ON CREATE SET
    b.line_ids = row.line_ids,
    b.line_orders = row.order_ids,
    b.line_at = row.line_at,
    b.line_quantities = row.quantities,
    b.line_revenues = row.revenues,
    b.orders = row.orders,
    b.quantity = row.quantity,
    b.revenue = row.revenue,
    b.first_at = localdatetime(datetime({epochSeconds: row.first_at})),
    b.last_at = localdatetime(datetime({epochSeconds: row.last_at}))
WITH b, row, [i IN range(0, size(row.line_ids) - 1) WHERE NOT row.line_ids[i] IN b.line_ids] AS fresh
WHERE size(fresh) > 0
WITH b,
     b.line_ids + [i IN fresh | row.line_ids[i]] AS line_ids,
     b.line_orders + [i IN fresh | row.order_ids[i]] AS line_orders,
     b.line_at + [i IN fresh | row.line_at[i]] AS line_at,
     b.line_quantities + [i IN fresh | row.quantities[i]] AS line_quantities,
     b.line_revenues + [i IN fresh | row.revenues[i]] AS line_revenues
SET b.line_ids = line_ids,
    b.line_orders = line_orders,
    b.line_at = line_at,
    b.line_quantities = line_quantities,
    b.line_revenues = line_revenues,
    b.quantity = reduce(total = 0.0, q IN line_quantities | total + q),
    b.revenue = reduce(total = 0.0, r IN line_revenues | total + r),
    b.first_at = localdatetime(datetime({epochSeconds: reduce(m = line_at[0], t IN line_at | CASE WHEN t < m THEN t ELSE m END)})),
    b.last_at = localdatetime(datetime({epochSeconds: reduce(m = line_at[0], t IN line_at | CASE WHEN t > m THEN t ELSE m END)})),
    b.orders = size(reduce(uniq = [], o IN line_orders | CASE WHEN o IN uniq THEN uniq ELSE uniq + o END))
