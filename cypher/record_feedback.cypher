// What a rep did with a suggestion: (:Feedback)-[:FOR_ACCOUNT]->(:Account), -[:FOR_PRODUCT]->(:Product).
// MERGE on the id makes a retried POST harmless; nothing is written unless both ends exist.
OPTIONAL MATCH (a:Account {id: $account_id})
OPTIONAL MATCH (p:Product {sku: $sku})
OPTIONAL CALL (a, p) {
  WITH a, p WHERE a IS NOT NULL AND p IS NOT NULL
  MERGE (f:Feedback {id: $id})
  ON CREATE SET f.action = $action, f.user = $user, f.at = datetime($at), f.kind = $kind,
                f.model_version = $model_version, f.value = $value, f.note = $note, f.created = true
  ON MATCH SET f.created = false
  MERGE (f)-[:FOR_ACCOUNT]->(a)
  MERGE (f)-[:FOR_PRODUCT]->(p)
  WITH f, f.created AS created
  REMOVE f.created
  RETURN created
}
RETURN a IS NOT NULL AS account_found, p IS NOT NULL AS product_found, created
