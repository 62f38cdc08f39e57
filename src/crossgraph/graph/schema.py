"""Schema (constraints, indexes) and what the graph holds."""

from __future__ import annotations

from dataclasses import dataclass

from crossgraph.graph import queries
from crossgraph.graph.driver import Graph


def init_schema(graph: Graph) -> list[str]:
    """Apply cypher/schema.cypher (every statement IF [NOT] EXISTS) in one transaction; returns
    the index names present."""
    graph.write_texts(queries.statements("schema"))
    return [row["name"] for row in graph.read("show_schema")]


@dataclass(frozen=True)
class GraphStats:
    nodes: dict[str, int]
    relationships: dict[str, int]

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"nodes": self.nodes, "relationships": self.relationships}


def graph_stats(graph: Graph) -> GraphStats:
    nodes = {row["label"]: int(row["count"]) for row in graph.read("count_nodes")}
    rels = {row["type"]: int(row["count"]) for row in graph.read("count_relationships")}
    return GraphStats(nodes=nodes, relationships=rels)
