// Readiness: a real read of the database (the count store answers without a scan).
MATCH (a:Account)
RETURN count(a) AS accounts
