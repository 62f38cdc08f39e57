// Suggestions dismissed at or after $since: serving leaves them out until the period ends.
MATCH (f:Feedback {action: 'dismissed'})
WHERE f.at >= datetime($since)
MATCH (f)-[:FOR_ACCOUNT]->(a:Account), (f)-[:FOR_PRODUCT]->(p:Product)
RETURN a.id AS account_id, p.sku AS sku, toString(max(f.at)) AS last_at
