// Pairs serving leaves out: suggestions dismissed at or after $since (until the period ends)
// and products won (the account owns them now, before the next training run knows it).
MATCH (f:Feedback)
WHERE (f.action = 'dismissed' AND f.at >= datetime($since)) OR f.action = 'won'
MATCH (f)-[:FOR_ACCOUNT]->(a:Account), (f)-[:FOR_PRODUCT]->(p:Product)
RETURN DISTINCT a.id AS account_id, p.sku AS sku
