// The BOUGHT each of $accounts already has: per account the skus and, for each, the order line
// ids in its ledger. Only these pairs can hold lines of earlier loads, and only those of them
// with a line not in the ledger need merge_purchases; every other pair of a load is new
// (create_purchases).
UNWIND $accounts AS id
MATCH (:Account {id: id})-[b:BOUGHT]->(p:Product)
RETURN id AS account_id, collect(p.sku) AS skus, collect(b.line_ids) AS line_ids
