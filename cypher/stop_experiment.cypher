// End a running experiment and keep its result (JSON text of the status at this moment).
MATCH (e:Experiment {name: $name, status: 'running'})
SET e.status = 'stopped', e.stopped_at = datetime($at), e.result = $result
RETURN e.name AS name
