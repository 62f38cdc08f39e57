// The category of every product that has one: the columns of the whitespace matrix.
MATCH (p:Product)-[:IN_CATEGORY]->(c:Category)
RETURN p.sku AS sku, c.name AS category
