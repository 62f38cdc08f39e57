// Per arm of experiment $name: suggestions shown (the arm's own counter plus every worker's
// running total) and the feedback stored in it (actions, won value and its sum of squares).
MATCH (a:ExperimentArm {experiment: $name})
OPTIONAL MATCH (w:ArmShown {experiment: $name, arm: a.arm})
WITH a, a.shown + sum(coalesce(w.shown, 0)) AS shown
OPTIONAL MATCH (f:Feedback {experiment: $name, arm: a.arm})
WITH a, shown, f.action AS action, count(f) AS n,
     sum(CASE WHEN f.action = 'won' THEN coalesce(f.value, 0.0) ELSE 0.0 END) AS value,
     sum(CASE WHEN f.action = 'won' THEN coalesce(f.value, 0.0) ^ 2 ELSE 0.0 END) AS value_sq
RETURN a.arm AS arm, shown, collect({action: action, n: n, value: value, value_sq: value_sq}) AS actions
