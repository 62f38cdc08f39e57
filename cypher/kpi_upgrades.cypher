// Upsell paths (X -> X Pro, basic -> premium service): separate upgrades from cross-sell.
MATCH (a:Product)-[:UPGRADES_TO]->(b:Product)
RETURN a.sku AS from_sku, b.sku AS to_sku
