// Write-back: each account's top products by the model, stamped with the model version.
UNWIND $rows AS row
MATCH (a:Account {id: row.account_id})
UNWIND range(0, size(row.skus) - 1) AS i
MATCH (p:Product {sku: row.skus[i]})
MERGE (a)-[r:RECOMMENDED]->(p)
SET r.score = row.scores[i], r.rank = i + 1, r.model_version = $version
RETURN count(r) AS written
