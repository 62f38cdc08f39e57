"""A complete, order-independent picture of the graph, to compare before and after."""

from __future__ import annotations

from typing import Any

from crossgraph.graph.driver import Graph

NODES = "MATCH (n) RETURN labels(n) AS labels, properties(n) AS props"
RELS = (
    "MATCH (a)-[r]->(b) RETURN type(r) AS type, properties(r) AS props, "
    "coalesce(a.id, a.sku, a.serial, a.name) AS start, coalesce(b.id, b.sku, b.serial, b.name) AS end"
)


def snapshot(graph: Graph) -> dict[str, list[str]]:
    nodes = sorted(repr((sorted(r["labels"]), _sorted(r["props"]))) for r in graph.write_text(NODES))
    rels = sorted(
        repr((r["type"], r["start"], r["end"], _sorted(r["props"]))) for r in graph.write_text(RELS)
    )
    return {"nodes": nodes, "relationships": rels}


def _sorted(props: dict[str, Any]) -> list[tuple[str, Any]]:
    return sorted(props.items())
