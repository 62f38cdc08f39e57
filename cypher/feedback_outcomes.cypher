// Decided feedback per kind and signal, for calibrating the fused list's likelihoods: each
// account x product x kind x signal counts once, by its latest action among $outcomes.
MATCH (f:Feedback)-[:FOR_ACCOUNT]->(a:Account)
WHERE f.action IN $outcomes
MATCH (f)-[:FOR_PRODUCT]->(p:Product)
WITH a.id AS account, p.sku AS sku, coalesce(f.kind, 'cross_sell') AS kind, f.signal AS signal, f
ORDER BY f.at DESC
WITH account, sku, kind, signal, head(collect(f.action)) AS action
RETURN kind, signal, action, count(*) AS n
ORDER BY kind, signal, action
