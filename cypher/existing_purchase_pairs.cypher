// Which of a load's account x product pairs already have a BOUGHT: account $accounts[j] with
// the skus $skus[j] of its pairs in the load. Returns one row of parallel lists: per BOUGHT
// found, the index j of its account, its sku, its element id and the order line ids in its
// ledger. Only these pairs can hold lines of earlier loads, and only those with a line not in
// the ledger need extending (purchase_ledgers, then extend_purchases); every other pair of a
// load is new (create_purchases). Asking for the load's pairs, not every BOUGHT of its
// accounts, moved a sixth of the ledgers for Online Retail's last tenth (14k of 101k; 1.2 s ->
// 0.2-0.4 s), and one row, not one per account, spares the driver a record each.
UNWIND range(0, size($accounts) - 1) AS j
MATCH (:Account {id: $accounts[j]})-[b:BOUGHT]->(p:Product)
WHERE p.sku IN $skus[j]
RETURN collect(j) AS account, collect(p.sku) AS skus, collect(elementId(b)) AS bought,
       collect(b.line_ids) AS line_ids
