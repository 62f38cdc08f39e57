// Installed base as holdings: each account x product it has at least one machine of. Training
// adds these to what an account owns (never offered as cross-sell; a peer with the machine
// installed counts as owning it) without making them purchases for the fit.
MATCH (a:Account)-[:OWNS]->(:Asset)-[:OF_MODEL]->(p:Product)
RETURN DISTINCT a.id AS account_id, p.sku AS sku
