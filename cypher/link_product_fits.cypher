// Parts, consumables and services that belong to machines: (:Product)-[:FITS]->(:Product).
UNWIND $rows AS row
MATCH (p:Product {sku: row.sku})
OPTIONAL MATCH (p)-[old:FITS]->(m:Product)
  WHERE NOT m.sku IN coalesce(row.fits, [])
DELETE old
WITH DISTINCT p, row
UNWIND coalesce(row.fits, []) AS machine_sku
MATCH (m:Product {sku: machine_sku})
MERGE (p)-[:FITS]->(m)
RETURN count(*) AS written
