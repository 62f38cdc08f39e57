// The account's latest dismissal of one product, if any: evidence says it was dismissed.
MATCH (f:Feedback {action: 'dismissed'})-[:FOR_ACCOUNT]->(:Account {id: $account_id})
MATCH (f)-[:FOR_PRODUCT]->(:Product {sku: $sku})
RETURN f.at AS at, f.user AS user, f.note AS note
ORDER BY f.at DESC
LIMIT 1
