// Parts, consumables and services that belong to machines: (:Product)-[:FITS]->(:Product).
// Stale FITS are found from the part's own FITS (endNode, no pattern on the machine): with a
// machine pattern (m:Product, m.sku), a plan made before any FITS existed (a first load) scanned
// the sku index for every row, products x products (31 s at 5,000 products).
UNWIND $rows AS row
MATCH (p:Product {sku: row.sku})
CALL (p, row) {
  MATCH (p)-[old:FITS]->()
  WITH old WHERE NOT endNode(old).sku IN coalesce(row.fits, [])
  DELETE old
}
WITH p, row
UNWIND coalesce(row.fits, []) AS machine_sku
MATCH (m:Product {sku: machine_sku})
MERGE (p)-[:FITS]->(m)
RETURN count(*) AS written
