// Every account with what the worklist shows and filters on, in id order.
MATCH (a:Account)
RETURN a.id AS id, a.name AS name, a.segment AS segment, a.industry AS industry,
       a.country AS country, a.owner AS owner
ORDER BY id
