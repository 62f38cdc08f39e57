// Account ids that cut all accounts into $parts ranges of about equal size (ascending; $parts - 1
// of them), so a large export can read the ranges side by side.
MATCH (a:Account)
WITH a.id AS id ORDER BY id
WITH collect(id) AS ids
RETURN [i IN range(1, $parts - 1) | ids[size(ids) * i / $parts]] AS bounds
