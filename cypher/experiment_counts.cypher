// Per arm of experiment $name: suggestions shown (API counts) and the feedback stored in it
// (actions, won value and its sum of squares).
MATCH (a:ExperimentArm {experiment: $name})
OPTIONAL MATCH (f:Feedback {experiment: $name, arm: a.arm})
WITH a, f.action AS action, count(f) AS n,
     sum(CASE WHEN f.action = 'won' THEN coalesce(f.value, 0.0) ELSE 0.0 END) AS value,
     sum(CASE WHEN f.action = 'won' THEN coalesce(f.value, 0.0) ^ 2 ELSE 0.0 END) AS value_sq
RETURN a.arm AS arm, a.shown AS shown, collect({action: action, n: n, value: value, value_sq: value_sq}) AS actions
