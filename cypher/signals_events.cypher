// An account's trigger events between $since and $until (dates, both included), newest first.
// No row: unknown account; one row with an empty list: no events in the window.
MATCH (a:Account {id: $id})
CALL (a) {
  MATCH (a)-[:HAD_EVENT]->(e:Event)
    WHERE $since <= e.occurred_at <= $until
  WITH e ORDER BY e.occurred_at DESC, e.id
  RETURN collect(e {.id, .type, .occurred_at, .text, .sku}) AS events
}
RETURN a.id AS id, events
