// Start an experiment unless one is running or the name was used before (a stopped experiment
// keeps its record and its result); every arm gets its counter of suggestions shown.
OPTIONAL MATCH (running:Experiment {status: 'running'})
OPTIONAL MATCH (same:Experiment {name: $name})
WITH running, same, running IS NULL AND same IS NULL AS free
FOREACH (_ IN CASE WHEN free THEN [1] ELSE [] END |
  CREATE (:Experiment {name: $name, status: 'running', arms: $arms, shares: $shares,
                       started_at: datetime($at)})
  FOREACH (arm IN $arms | CREATE (:ExperimentArm {experiment: $name, arm: arm, shown: 0})))
RETURN free AS started, running.name AS running, same.status AS same_status
