// The kept opportunity lists of the given accounts in the given quarters.
MATCH (l:OpportunityList)
WHERE l.account_id IN $ids AND l.quarter IN $quarters
RETURN l.account_id AS account_id, l.quarter AS quarter, l.taken_on AS taken_on,
       l.model_version AS model_version, l.skus AS skus, l.names AS names, l.kinds AS kinds,
       l.signals AS signals, l.values AS values, l.risks AS risks, l.potential AS potential
