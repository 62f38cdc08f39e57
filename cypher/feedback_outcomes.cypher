// Decided feedback per kind and signal, for calibrating the fused list's likelihoods: each
// account x product x kind x signal counts once, by its latest action among $outcomes.
// `expected` sums the likelihoods those latest decisions recorded (cross-sell: the peers' share
// when decided), over the `measured` of the n that recorded one.
MATCH (f:Feedback)-[:FOR_ACCOUNT]->(a:Account)
WHERE f.action IN $outcomes
MATCH (f)-[:FOR_PRODUCT]->(p:Product)
WITH a.id AS account, p.sku AS sku, coalesce(f.kind, 'cross_sell') AS kind, f.signal AS signal, f
ORDER BY f.at DESC
WITH account, sku, kind, signal, head(collect(f)) AS latest
RETURN kind, signal, latest.action AS action, count(*) AS n,
       sum(coalesce(latest.likelihood, 0.0)) AS expected, count(latest.likelihood) AS measured
ORDER BY kind, signal, action
