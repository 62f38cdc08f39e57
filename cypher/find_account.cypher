// One account's attributes and what it has bought, live (accounts newer than the model, evidence).
MATCH (a:Account {id: $id})
OPTIONAL MATCH (a)-[:BOUGHT]->(p:Product)
RETURN a.id AS id, a.name AS name, a.industry AS industry, a.country AS country,
       a.segment AS segment, collect(p.sku) AS owned
