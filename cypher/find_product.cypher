// One product's display attributes (evidence for a product the model has no column for).
MATCH (p:Product {sku: $sku})
RETURN p.sku AS sku, p.name AS name, p.category AS category, p.kind AS kind
