"""Another writer extending a ledger while a load runs: the overlap loads must survive."""

from __future__ import annotations

import pytest

from crossgraph.graph.driver import Graph

APPEND = (
    "MATCH (:Account {id: 'A1'})-[b:BOUGHT]->(:Product {sku: 'C-1'}) "
    "SET b.line_ids = b.line_ids + [$id], b.line_orders = b.line_orders + ['OX'], "
    "b.line_at = b.line_at + [0], b.line_quantities = b.line_quantities + [1.0], "
    "b.line_revenues = b.line_revenues + [1.0]"
)


def meddle_with_ledgers(monkeypatch: pytest.MonkeyPatch, times: int) -> list[str]:
    """From now on, each of the first `times` reads of ledgers (purchase_ledgers) is followed
    by another writer appending a line (X1, X2, ...) to A1 -> C-1's ledger (the small
    fixture's pair), before the load writes. The ids appended so far."""
    read_values, appended = Graph.read_values, list[str]()

    def meddling(self: Graph, name: str, params: object = None) -> list[dict[str, object]]:
        rows = read_values(self, name, params)  # type: ignore[arg-type]
        if name == "purchase_ledgers" and len(appended) < times:
            appended.append(f"X{len(appended) + 1}")
            self.write_text(APPEND, {"id": appended[-1]})
        return rows

    monkeypatch.setattr(Graph, "read_values", meddling)
    return appended
