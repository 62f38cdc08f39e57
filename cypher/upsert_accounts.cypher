// Accounts by id; properties are set to the file's values (loading twice changes nothing).
UNWIND $rows AS row
MERGE (a:Account {id: row.id})
SET a.name = row.name,
    a.industry = row.industry,
    a.country = row.country,
    a.size_band = row.size_band,
    a.owner = row.owner,
    a.segment = coalesce(row.segment, row.industry, row.country)
RETURN count(a) AS written
