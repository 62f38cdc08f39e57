"""Helpers of crossgraph evaluate (in cli/train_cmds.py): purchases, default cutoff, feedback."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from crossgraph.cli.common import console, graph
from crossgraph.data.orderlines import OrderLines, read_purchases
from crossgraph.dates import parse_cutoff
from crossgraph.errors import InvalidInput


def _online(purchases: Path | None) -> dict[str, dict[str, Any]] | None:
    """The online side, for graph runs: feedback per model version, printed as a table."""
    if purchases is not None:
        return None
    from crossgraph.graph.feedback import ACTIONS, feedback_stats

    with graph() as g:
        stats = feedback_stats(g)
    if not stats:
        console.print("online: no feedback recorded yet (POST /v1/feedback)")
        return stats
    table = Table(title="Online: feedback per model version")
    for column in ("model version", *ACTIONS, "acceptance", "win rate"):
        table.add_column(column, justify="left" if column == "model version" else "right")
    for version, row in stats.items():
        rates = [row["acceptance_rate"], row["win_rate"]]
        table.add_row(
            version, *(str(row[a]) for a in ACTIONS), *("" if r is None else f"{r:.1%}" for r in rates)
        )
    console.print(table)
    return stats


def _load(purchases: Path | None, segment: str) -> tuple[OrderLines, dict[str, str | None]]:
    if purchases is not None:
        from crossgraph.data.online_retail import is_online_retail, read_online_retail

        if not purchases.exists():
            raise InvalidInput(f"{purchases} does not exist")
        if is_online_retail(purchases):
            data = read_online_retail(purchases)
            return data.lines, {str(a["id"]): a["country"] for a in data.accounts}
        return read_purchases(purchases), {}
    if segment not in ("segment", "industry", "country"):
        raise InvalidInput(f"--segment must be segment, industry or country, got {segment!r}")
    from crossgraph.graph.export import export_accounts, export_order_lines

    with graph() as g:
        lines = export_order_lines(g)
        segments = {str(a["id"]): a.get(segment) for a in export_accounts(g)}
    return lines, segments


def _cutoff(text: str | None, lines: OrderLines) -> datetime:
    if text:
        return parse_cutoff(text)
    from crossgraph.model.train import default_cutoff

    return default_cutoff(lines, test_days=120)
