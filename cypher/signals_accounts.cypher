// Each account's facts for its upsell and risk signals, one row per account of $accounts (maps of
// id and peer_ids; one round trip for a fused list or a plan, or for a page of the nightly
// worklist): what it bought (with the ledger of its order lines, so the caller can cut at
// any date), its installed base, its contracts, its contacts and touchpoints, and the products
// one UPGRADES_TO step beyond each; its trigger events between $since and $until (dates, both
// included; none when they are null), newest first; and what it is compared with: each of its
// peer_ids' contracts and how it buys the account's products: per product the quantity and the
// distinct orders of its lines before $peer_until (epoch seconds; every line when null) (unknown
// ids and the account itself skipped, ordered by id). No row for an unknown account.
// For contracts, `services` lists the candidate service products of the levels in $levels:
// the contract product's upgrade ladder first, then $service_kind products that FIT a covered
// machine (service ladders are short, hence the bounded path).
UNWIND $accounts AS wanted
MATCH (a:Account {id: wanted.id})
CALL (a) {
  MATCH (a)-[b:BOUGHT]->(p:Product)
  OPTIONAL MATCH (p)-[:UPGRADES_TO]->(next:Product)
  WITH b, p, collect(next {.sku, .name, .kind, .category, .tier, .list_price, .active}) AS successors
  RETURN collect(p {
    .sku, .name, .kind, .category, .tier, .list_price, .active,
    line_at: b.line_at, line_orders: b.line_orders,
    line_quantities: b.line_quantities, line_revenues: b.line_revenues,
    successors: successors
  }) AS bought
}
CALL (a) {
  MATCH (a)-[:OWNS]->(s:Asset)-[:OF_MODEL]->(m:Product)
  OPTIONAL MATCH (m)-[:UPGRADES_TO]->(next:Product)
  WITH s, m, collect(next {.sku, .name, .kind, .category, .tier, .list_price, .active}) AS successors
  ORDER BY s.installed_at, s.serial  // oldest first: ties between machines resolve the same way each time
  RETURN collect({
    serial: s.serial, installed_at: s.installed_at, utilization: s.utilization, config: s.config,
    model: m {.sku, .name, .kind, .category, .tier, .list_price, .active},
    successors: successors
  }) AS assets
}
CALL (a) {
  MATCH (a)-[:HAS_CONTRACT]->(c:Contract)
  OPTIONAL MATCH (c)-[:FOR_PRODUCT]->(sp:Product)
  OPTIONAL MATCH (c)-[:COVERS]->(covered:Product)
  WITH c, sp, collect(DISTINCT covered.sku) AS covers
  CALL (sp) {
    OPTIONAL MATCH path = (sp)-[:UPGRADES_TO*1..4]->(up:Product)
      WHERE up.tier IN $levels
    WITH up, min(length(path)) AS steps ORDER BY steps
    RETURN collect(up {.sku, .name, .kind, .category, .tier, .list_price, .active}) AS ladder
  }
  CALL (covers) {
    UNWIND covers AS covered  // from the covered machines (a few), not from every service product
    MATCH (machine:Product {sku: covered})<-[:FITS]-(alt:Product)
      WHERE alt.kind = $service_kind AND alt.tier IN $levels
    WITH DISTINCT alt ORDER BY alt.sku
    RETURN collect(alt {.sku, .name, .kind, .category, .tier, .list_price, .active}) AS fitting
  }
  RETURN collect({
    id: c.id, level: c.level, starts_at: c.starts_at, ends_at: c.ends_at,
    annual_value: c.annual_value,
    product: sp {.sku, .name, .kind, .category, .tier, .list_price, .active},
    covers: covers, services: ladder + [s IN fitting WHERE NOT s IN ladder]
  }) AS contracts
}
CALL (a) {
  OPTIONAL MATCH (a)-[:HAS_CONTACT]->(c:Contact)
  RETURN collect(c {.id, .name, .role, .influence, .email, .left_at}) AS contacts
}
CALL (a) {
  OPTIONAL MATCH (a)-[:HAD_TOUCHPOINT]->(t:Touchpoint)
  RETURN collect(t {.id, .type, .occurred_at, .contact_id, .owner, .notes}) AS touchpoints
}
CALL (a) {
  OPTIONAL MATCH (a)-[:HAD_EVENT]->(e:Event)
    WHERE $since <= e.occurred_at <= $until
  WITH e ORDER BY e.occurred_at DESC, e.id
  RETURN collect(e {.id, .type, .occurred_at, .text, .sku}) AS events
}
CALL (a, bought, wanted) {
  UNWIND wanted.peer_ids AS peer_id
  MATCH (p:Account {id: peer_id})
    WHERE p <> a
  WITH DISTINCT p, [b IN bought | b.sku] AS skus
  CALL (p) {
    MATCH (p)-[:HAS_CONTRACT]->(c:Contract)
    RETURN collect(c {.id, .level, .starts_at, .ends_at}) AS contracts
  }
  CALL (p, skus) {
    MATCH (p)-[b:BOUGHT]->(prod:Product)
      WHERE prod.sku IN skus
    WITH prod, b.line_orders AS orders, b.line_quantities AS quantities,
         [i IN range(0, size(b.line_at) - 1) WHERE $peer_until IS NULL OR b.line_at[i] < $peer_until] AS kept
    // summed in line order, as Ledger.per_order sums them
    RETURN collect({
      sku: prod.sku,
      quantity: reduce(total = 0.0, i IN kept | total + quantities[i]),
      orders: size(reduce(seen = [], i IN kept | CASE WHEN orders[i] IN seen THEN seen ELSE seen + orders[i] END))
    }) AS peer_bought
  }
  WITH p, contracts, peer_bought ORDER BY p.id
  RETURN collect({id: p.id, contracts: contracts, bought: peer_bought}) AS peers
}
RETURN a.id AS id, a.name AS name, bought, assets, contracts, contacts, touchpoints, events, peers
