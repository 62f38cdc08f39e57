// Won deals that are not yet in the purchase ledger, as order lines for the next training run.
// $before (epoch seconds or null) keeps those won strictly before a cutoff.
MATCH (f:Feedback {action: 'won'})-[:FOR_ACCOUNT]->(a:Account), (f)-[:FOR_PRODUCT]->(p:Product)
WHERE NOT (a)-[:BOUGHT]->(p) AND ($before IS NULL OR f.at.epochSeconds < $before)
RETURN f.id AS id, a.id AS account_id, p.sku AS sku, f.at.epochSeconds AS at,
       coalesce(f.value, p.list_price, 0.0) AS revenue
