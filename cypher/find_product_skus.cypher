// Which of the given skus exist in the graph.
UNWIND $ids AS id
MATCH (p:Product {sku: id})
RETURN p.sku AS id
