"""crossgraph whitespace | plan: account planning from the promoted model and the graph."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from crossgraph.cli.common import console, err_console, fails_cleanly, graph, settings
from crossgraph.data.csvout import atomic_text
from crossgraph.model.artifact import Artifact
from crossgraph.model.registry import Registry
from crossgraph.recommend.engine import Engine


class By(StrEnum):
    product = "product"
    category = "category"


def register(app: typer.Typer) -> None:
    app.command()(whitespace)


def current_engine() -> Engine:
    return Engine(Artifact.load(Registry(settings().model_dir).current().path))


@fails_cleanly
def whitespace(
    accounts: str = typer.Option(
        None, help="Comma-separated account ids (default: the top accounts by revenue)"
    ),
    top: int = typer.Option(20, min=1, max=200, help="Without --accounts: this many top accounts by revenue"),
    by: By = typer.Option(By.product, help="Columns: products or categories"),
    columns: str = typer.Option(None, help="Comma-separated skus or categories (default: the most owned)"),
    limit: int = typer.Option(10, min=1, max=200, help="Columns when none are given"),
    csv_path: Path = typer.Option(None, "--csv", help="Write every cell as CSV (one row per cell)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of the table"),
) -> None:
    """The whitespace matrix: owned cells with revenue, open cells with the model's score,
    the rank in the account's list and the share of its closest peers that own it."""
    from crossgraph.recommend.whitespace import build_whitespace

    engine = current_engine()
    ids = [a.strip() for a in (accounts or "").split(",") if a.strip()]
    cols = [c.strip() for c in (columns or "").split(",") if c.strip()]
    with graph() as g:
        matrix = build_whitespace(
            engine, lambda call: call(g), accounts=ids, top=top, by=by.value, columns=cols, limit=limit
        )
    if csv_path:
        with atomic_text(csv_path) as handle:
            handle.write(matrix.to_csv())
        err_console.print(
            f"wrote {csv_path} ({len(matrix.accounts)} accounts x {len(matrix.columns)} columns)"
        )
    if as_json:
        print(json.dumps(matrix.to_dict(), indent=2))
        return
    table = Table(
        title=f"Whitespace ({matrix.filled:.0%} filled; model {matrix.model_version})",
        caption="owned: revenue · open: score, #rank in the account's list, share of closest peers owning it",
    )
    table.add_column("account")
    for column in matrix.columns:
        table.add_column(column.get("sku") or column["name"], justify="right", overflow="fold")
    for account, row in zip(matrix.accounts, matrix.cells, strict=True):
        cells = []
        for c in row:
            if c.owned:
                cells.append(f"[green]{_money(c.revenue)}[/]")
            elif c.score is None:
                cells.append("")
            else:
                rank = f" #{c.rank}" if c.rank else ""
                cells.append(f"{c.score:.2f}{rank} {c.peer_share or 0:.0%}")
        table.add_row(f"{account['id']} {account['name']}"[:32], *cells)
    console.print(table)
    for note in matrix.notes:
        err_console.print(f"note: {note}")


def _money(value: float | None) -> str:
    if value is None:
        return "owned"
    return f"{value / 1000:,.1f}k" if value >= 1000 else f"{value:,.0f}"
