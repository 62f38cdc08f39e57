// Order lines -> one BOUGHT per account x product. Each row carries the lines of one pair
// as parallel lists. BOUGHT keeps a ledger of the lines it has counted (line_ids and the
// values of each line), so a line seen before is never counted again and the aggregates
// are always recomputed from the whole ledger: loading the same file twice changes nothing,
// an increment adds exactly its new lines, and training can cut the ledger at any date.
UNWIND $rows AS row
MATCH (a:Account {id: row.account_id})
MATCH (p:Product {sku: row.sku})
MERGE (a)-[b:BOUGHT]->(p)
WITH b, row, coalesce(b.line_ids, []) AS seen
WITH b, row, seen, [i IN range(0, size(row.line_ids) - 1) WHERE NOT row.line_ids[i] IN seen] AS fresh
WHERE size(fresh) > 0
WITH b, size(fresh) AS added,
     seen + [i IN fresh | row.line_ids[i]] AS line_ids,
     coalesce(b.line_orders, []) + [i IN fresh | row.order_ids[i]] AS line_orders,
     coalesce(b.line_at, []) + [i IN fresh | localdatetime(row.ordered_at[i])] AS line_at,
     coalesce(b.line_quantities, []) + [i IN fresh | row.quantities[i]] AS line_quantities,
     coalesce(b.line_revenues, []) + [i IN fresh | row.revenues[i]] AS line_revenues
SET b.line_ids = line_ids,
    b.line_orders = line_orders,
    b.line_at = line_at,
    b.line_quantities = line_quantities,
    b.line_revenues = line_revenues,
    b.quantity = reduce(total = 0.0, q IN line_quantities | total + q),
    b.revenue = reduce(total = 0.0, r IN line_revenues | total + r),
    b.first_at = reduce(first = line_at[0], t IN line_at | CASE WHEN t < first THEN t ELSE first END),
    b.last_at = reduce(last = line_at[0], t IN line_at | CASE WHEN t > last THEN t ELSE last END),
    b.orders = size(reduce(uniq = [], o IN line_orders | CASE WHEN o IN uniq THEN uniq ELSE uniq + o END))
RETURN count(b) AS pairs, sum(added) AS lines
