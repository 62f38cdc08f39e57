"""The rows `load --initial` hands to Neo4j's offline importer."""

from __future__ import annotations

import pytest

from crossgraph.data.orderlines import OrderLines
from crossgraph.errors import InvalidInput
from crossgraph.graph.bulk import bought_rows
from crossgraph.graph.ingest import PairLines

KEYS = ("line_id", "order_id", "account_id", "sku", "quantity", "revenue", "ordered_at")


def pairs(*rows: tuple[str, str, str, str, float, float, str]) -> PairLines:
    return PairLines.group(OrderLines.from_rows(dict(zip(KEYS, row, strict=True)) for row in rows))


def test_one_row_per_pair_with_its_ledger_and_the_aggregates_create_purchases_writes() -> None:
    rows = list(
        bought_rows(
            pairs(
                ("L1", "O1", "A1", "P1", 1.0, 0.1, "2024-01-03 10:30:00"),
                ("L2", "O2", "A1", "P1", 2.0, 0.2, "2024-01-01 00:00:00"),
                ("L3", "O2", "A2", "P1", 3.0, 30.0, "2024-01-02 00:00:00"),
            ),
        )
    )
    assert rows == [
        ["A1", "P1", "L1\x1fL2", "O1\x1fO2", "1704277800\x1f1704067200", "1.0\x1f2.0", "0.1\x1f0.2", 2, "3.0",
         repr(0.1 + 0.2), "2024-01-01T00:00:00", "2024-01-03T10:30:00"],
        ["A2", "P1", "L3", "O2", "1704153600", "3.0", "30.0", 1, "3.0", "30.0", "2024-01-02T00:00:00",
         "2024-01-02T00:00:00"],
    ]  # fmt: skip


@pytest.mark.parametrize("line_id", ["L1\nL2", "L1\x1fL2"])
def test_an_id_the_importer_would_split_or_break_is_refused_by_name(line_id: str) -> None:
    with pytest.raises(InvalidInput, match="load without --initial") as raised:
        list(bought_rows(pairs((line_id, "O1", "A1", "P1", 1.0, 1.0, "2024-01-01 00:00:00"))))
    assert repr(line_id) in str(raised.value)
