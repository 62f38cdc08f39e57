"""Account intelligence: growth signals and KPIs computed from the graph."""
