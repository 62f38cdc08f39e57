// The whole ledger of each BOUGHT in $ids (element ids from existing_purchase_pairs): what a
// load needs to extend it (extend_purchases) with the aggregates recomputed over old and new
// lines on the client. One row of parallel lists (one record per relationship cost 14 s per
// million in the driver); a relationship that no longer exists is not in `ids`.
UNWIND $ids AS id
MATCH ()-[b:BOUGHT]->()
WHERE elementId(b) = id
RETURN collect(id) AS ids, collect(b.line_ids) AS line_ids, collect(b.line_orders) AS line_orders,
       collect(b.line_at) AS line_at, collect(b.line_quantities) AS line_quantities,
       collect(b.line_revenues) AS line_revenues
