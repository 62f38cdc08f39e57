// What a rep did with a suggestion: (:Feedback)-[:FOR_ACCOUNT]->(:Account), -[:FOR_PRODUCT]->(:Product).
// MERGE on the id makes a retried POST harmless: a known id changes nothing and returns what
// was stored first (account, sku, action, time, experiment arm), so the caller can answer with those and
// refuse an id reused for other feedback. Nothing is written unless both ends exist.
OPTIONAL MATCH (a:Account {id: $account_id})
OPTIONAL MATCH (p:Product {sku: $sku})
OPTIONAL CALL (a, p) {
  WITH a, p WHERE a IS NOT NULL AND p IS NOT NULL
  MERGE (f:Feedback {id: $id})
  ON CREATE SET f.action = $action, f.user = $user, f.at = datetime($at), f.kind = $kind, f.signal = $signal,
                f.model_version = $model_version, f.value = $value, f.note = $note, f.likelihood = $likelihood,
                f.experiment = $experiment, f.arm = $arm, f.created = true
  ON MATCH SET f.created = false
  WITH a, p, f, f.created AS created
  REMOVE f.created
  FOREACH (_ IN CASE WHEN created THEN [1] ELSE [] END |
    MERGE (f)-[:FOR_ACCOUNT]->(a)
    MERGE (f)-[:FOR_PRODUCT]->(p))
  WITH f, created
  OPTIONAL MATCH (f)-[:FOR_ACCOUNT]->(stored_account:Account)
  OPTIONAL MATCH (f)-[:FOR_PRODUCT]->(stored_product:Product)
  RETURN created, stored_account.id AS stored_account, stored_product.sku AS stored_sku,
         f.action AS stored_action, f.at AS stored_at, f.model_version AS stored_model,
         f.experiment AS stored_experiment, f.arm AS stored_arm
}
RETURN a IS NOT NULL AS account_found, p IS NOT NULL AS product_found, created,
       stored_account, stored_sku, stored_action, stored_at, stored_model, stored_experiment, stored_arm
