// Order lines counted in all BOUGHT ledgers (before and after a load: the difference is what it added).
MATCH ()-[b:BOUGHT]->()
RETURN coalesce(sum(size(b.line_ids)), 0) AS lines
