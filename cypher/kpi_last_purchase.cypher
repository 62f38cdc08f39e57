// The moment of the last order line in the graph (null when nothing was bought): the KPIs'
// default reporting day is the day after it.
MATCH (:Account)-[b:BOUGHT]->(:Product)
RETURN max(b.last_at) AS last_at
