// The installed base per account x machine model: when the first such asset was installed.
// Only assets installed before $until count (the installed base has no removal date).
MATCH (a:Account)-[:OWNS]->(s:Asset)-[:OF_MODEL]->(p:Product)
WHERE s.installed_at < $until
RETURN a.id AS account_id, p.sku AS sku, min(s.installed_at) AS since
