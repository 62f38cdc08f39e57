// One experiment by name ($name), or the running one ($name null).
MATCH (e:Experiment)
WHERE ($name IS NULL AND e.status = 'running') OR e.name = $name
RETURN e.name AS name, e.status AS status, e.arms AS arms, e.shares AS shares,
       e.started_at AS started_at, e.stopped_at AS stopped_at, e.result AS result
ORDER BY e.started_at DESC
LIMIT 1
