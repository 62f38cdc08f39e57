// Products with their display attributes.
MATCH (p:Product)
RETURN p.sku AS sku, p.name AS name, p.category AS category, p.kind AS kind, p.tier AS tier,
       coalesce(p.active, true) AS active, p.list_price AS list_price,
       p.margin AS margin
ORDER BY p.sku
