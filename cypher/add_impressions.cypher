// Suggestions one API worker ($worker) has served per arm since it started ($rows: {arm, shown},
// running totals, not increments): a write that the worker stopped waiting for but that
// committed anyway, followed by the next tick's, cannot count anything twice, and one that
// failed is covered by the next. One small write per poll interval and worker.
UNWIND $rows AS row
MATCH (a:ExperimentArm {experiment: $name, arm: row.arm})
MERGE (w:ArmShown {experiment: $name, arm: row.arm, worker: $worker})
ON CREATE SET w.shown = 0
SET w.shown = CASE WHEN row.shown > w.shown THEN row.shown ELSE w.shown END
