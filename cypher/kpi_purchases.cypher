// Per account x product pair, what the KPIs need from its order-line ledger (line_at in seconds
// since 1970-01-01 00:00 local business time): the first line strictly before $until (pairs with
// none did not exist yet and are left out) and the time and revenue of each line in
// [$since, $until). Ledgers are read once per property, as in export_order_lines.
MATCH (a:Account)-[b:BOUGHT]->(p:Product)
WITH a, p, b.line_at AS at, b.line_revenues AS revenues
WITH a, p, at, revenues, [i IN range(0, size(at) - 1) WHERE at[i] < $until] AS before
WHERE size(before) > 0
WITH a, p, at, revenues, before, [i IN before WHERE at[i] >= $since] AS recent
RETURN a.id AS account_id, p.sku AS sku,
       reduce(first = at[before[0]], i IN before | CASE WHEN at[i] < first THEN at[i] ELSE first END)
         AS first_at,
       [i IN recent | at[i]] AS line_at,
       [i IN recent | revenues[i]] AS revenues
