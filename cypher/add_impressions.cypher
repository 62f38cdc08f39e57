// Suggestions served per arm since a worker's last flush ($rows: {arm, shown}): one small
// write per poll interval and worker, never one per request or per suggestion.
UNWIND $rows AS row
MATCH (a:ExperimentArm {experiment: $name, arm: row.arm})
SET a.shown = a.shown + row.shown
