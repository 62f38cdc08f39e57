"""Exporting the order-line ledgers: every loaded line comes back, and `before` cuts exactly."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from crossgraph.data.demo import generate_demo
from crossgraph.data.orderlines import OrderLines
from crossgraph.data.parquet import write_order_lines
from crossgraph.data.purchase_file import read_purchase_file
from crossgraph.graph.driver import Graph
from crossgraph.graph.export import export_order_lines
from crossgraph.graph.ingest import LoadReport, load_directory, write_purchases

pytestmark = [pytest.mark.neo4j]


def _by_line(lines: OrderLines) -> dict[str, tuple[str, str, str, float, float, np.datetime64]]:
    return {
        str(lines.line_id[i]): (
            str(lines.order_id[i]),
            str(lines.account_id[i]),
            str(lines.sku[i]),
            float(lines.quantity[i]),
            float(lines.revenue[i]),
            lines.ordered_at[i],
        )
        for i in range(len(lines))
    }


def test_export_returns_every_line_and_cuts_before_a_date(graph: Graph, tmp_path: Path) -> None:
    generate_demo(tmp_path / "demo", accounts=60, seed=11, as_of=date(2026, 6, 30))
    load_directory(graph, tmp_path / "demo")
    loaded = _by_line(read_purchase_file(tmp_path / "demo" / "purchases.csv").lines)
    everything = export_order_lines(graph)
    assert _by_line(everything) == loaded
    # Read in ranges of account ids, side by side or one at a time, or in one go: the same
    # lines, none twice.
    for size, readers in ((1, 2), (7, 1), (7, 3), (1000, 2)):
        again = export_order_lines(graph, accounts_per_read=size, readers=readers)
        assert len(again) == len(loaded) and _by_line(again) == loaded

    cutoff = datetime(2025, 10, 1)
    before = export_order_lines(graph, before=cutoff)
    expected = _by_line(everything.before(cutoff))
    assert 0 < len(expected) < len(loaded)
    assert _by_line(before) == expected
    # A cutoff before the first purchase leaves nothing, not empty ledgers.
    assert len(export_order_lines(graph, before=datetime(1990, 1, 1))) == 0

    # Training reads the same lines without their ids, and they cannot be written anywhere.
    anonymous = export_order_lines(graph, before=cutoff, line_ids=False, accounts_per_read=7)
    assert not anonymous.has_line_ids and set(anonymous.line_id.tolist()) == {""}
    assert sorted(_without_id(anonymous)) == sorted(_without_id(before))
    assert np.array_equal(anonymous.codes().account, before.codes().account)
    with pytest.raises(ValueError, match="read without their line ids"):
        load_lines(graph, anonymous)
    with pytest.raises(ValueError, match="read without their line ids"):
        write_order_lines(anonymous, tmp_path / "lake")


def _without_id(lines: OrderLines) -> list[tuple[object, ...]]:
    return [
        (
            lines.order_id[i],
            lines.account_id[i],
            lines.sku[i],
            lines.quantity[i],
            lines.revenue[i],
            lines.ordered_at[i],
        )
        for i in range(len(lines))
    ]


def load_lines(graph: Graph, lines: OrderLines) -> None:
    write_purchases(graph, lines, LoadReport(), batch_size=100)


def test_export_of_an_empty_graph_is_empty(graph: Graph) -> None:
    assert len(export_order_lines(graph)) == 0
