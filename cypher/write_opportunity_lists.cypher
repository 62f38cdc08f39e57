// Each account's opportunity list of a quarter, as the latest worklist refresh of that quarter
// computed it: (:Account)-[:HAD_OPPORTUNITIES]->(:OpportunityList {quarter, ...}). A later
// refresh in the same quarter replaces the list, so the quarterly review compares the last
// list of one quarter with the last of the next.
UNWIND $rows AS row
MATCH (a:Account {id: row.account_id})
MERGE (l:OpportunityList {key: row.account_id + '|' + $quarter})
SET l.account_id = row.account_id,
    l.quarter = $quarter,
    l.taken_on = $taken_on,
    l.model_version = $model_version,
    l.skus = row.skus,
    l.names = row.names,
    l.kinds = row.kinds,
    l.signals = row.signals,
    l.values = row.values,
    l.risks = row.risks,
    l.potential = row.potential
MERGE (a)-[:HAD_OPPORTUNITIES]->(l)
RETURN count(l) AS written
