// Accounts with the attributes training and serving use (segments, display names).
MATCH (a:Account)
RETURN a.id AS id, a.name AS name, a.industry AS industry, a.country AS country,
       a.size_band AS size_band, a.segment AS segment
ORDER BY a.id
