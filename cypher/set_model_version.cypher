// The model version whose SIMILAR_TO / RECOMMENDED the graph holds (one node, for BI users).
MERGE (m:ModelVersion {name: 'current'})
SET m.version = $version, m.written_at = localdatetime(), m.summary = $summary
RETURN m.version AS version
