// Feedback counted per model version and action (the online side of the experiment loop).
MATCH (f:Feedback)
RETURN coalesce(f.model_version, 'unknown') AS model_version, f.action AS action, count(*) AS n
ORDER BY model_version, action
