"""crossgraph whitespace | plan: account planning from the promoted model and the graph."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from crossgraph.cli.common import console, err_console, fails_cleanly, graph, output_file, settings
from crossgraph.data.csvout import atomic_text
from crossgraph.model.artifact import Artifact
from crossgraph.model.registry import Registry
from crossgraph.recommend.engine import Engine


class By(StrEnum):
    product = "product"
    category = "category"


def register(app: typer.Typer) -> None:
    app.command()(whitespace)
    app.command()(plan)
    app.command()(review)
    app.command("demo-example", hidden=True)(demo_example)


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
    csv_path: Path = typer.Option(
        None, "--csv", callback=output_file, help="Write every cell as CSV (one row per cell)"
    ),
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
        caption="owned: revenue · open: score 0-100, #rank in the account's list, "
        "share of closest peers owning it",
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
                cells.append(f"{c.score:.0f}{rank} {c.peer_share or 0:.0%}")
        table.add_row(f"{account['id']} {account['name']}"[:32], *cells)
    console.print(table)
    for note in matrix.notes:
        err_console.print(f"note: {note}")


def _money(value: float | None) -> str:
    if value is None:
        return "owned"
    return f"{value / 1000:,.1f}k" if value >= 1000 else f"{value:,.0f}"


@fails_cleanly
def plan(
    account_id: str = typer.Argument(..., help="The account's id"),
    as_of: str = typer.Option(None, "--as-of", help="Plan as of this day, YYYY-MM-DD (default today, UTC)"),
    top: int = typer.Option(8, min=1, max=30, help="How many opportunities"),
    out: Path = typer.Option(
        None, "--out", callback=output_file, help="Write the Markdown here instead of printing it"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of Markdown"),
) -> None:
    """The account plan as Markdown a rep can read: installed base, contracts, revenue and trend,
    key contacts and touchpoints, top opportunities with evidence, risks, and actions per quarter.
    Signal thresholds come from the settings, as for the API's plan."""
    from crossgraph.api.app import intel_config
    from crossgraph.dates import parse_day
    from crossgraph.recommend.plan import build_plan, to_markdown

    day = parse_day(as_of) if as_of else None
    engine = current_engine()
    with graph() as g:
        body = build_plan(
            engine, lambda call: call(g), account_id, as_of=day, top=top, intel=intel_config(settings(), g)
        )
    _emit(body, to_markdown, out, as_json)


@fails_cleanly
def review(
    quarter: str = typer.Option(..., "--quarter", help="The quarter, e.g. 2026Q4"),
    accounts: str = typer.Option(
        None, help="Comma-separated account ids (default: the strategic accounts, see --share)"
    ),
    share: float = typer.Option(
        0.8, min=0.01, max=1.0, help="Strategic accounts: the largest covering this share of revenue"
    ),
    as_of: str = typer.Option(
        None, "--as-of", help="Review as of this day (default today, or the quarter's end)"
    ),
    out: Path = typer.Option(
        None, "--out", callback=output_file, help="Write the Markdown here instead of printing it"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of Markdown"),
) -> None:
    """The quarterly account review of the strategic accounts: status, opportunities converted,
    new and dead since the previous quarter's list, risks that changed, actions for next quarter
    (compares the lists `crossgraph worklist refresh` kept in each quarter)."""
    from crossgraph.api.app import intel_config
    from crossgraph.dates import parse_day
    from crossgraph.recommend.review import build_review, to_markdown

    day = parse_day(as_of) if as_of else None
    chosen = [a.strip() for a in (accounts or "").split(",") if a.strip()]
    engine = current_engine()
    with graph() as g:
        body = build_review(
            engine, g, quarter, accounts=chosen, share=share, intel=intel_config(settings(), g), as_of=day
        )
    _emit(body, to_markdown, out, as_json)


def _emit(
    body: dict[str, Any], markdown: Callable[[dict[str, Any]], str], out: Path | None, as_json: bool
) -> None:
    """JSON on stdout, or the Markdown into `out` (atomically) or on stdout."""
    if as_json:
        print(json.dumps(body, indent=2, default=str))
        return
    text = markdown(body)
    if out:
        with atomic_text(out) as handle:
            handle.write(text)
        err_console.print(f"wrote {out}")
    else:
        print(text, end="")


@fails_cleanly
def demo_example(
    scan: int = typer.Option(200, help="How many accounts to look at, in id order"),
    limit: int = typer.Option(8, help="List length to judge the mix on"),
) -> None:
    """Print the first account whose next-best actions mix cross-sell, upsell and renewal (for
    `make demo`); falls back to the first account."""
    from crossgraph.recommend.actions import KINDS
    from crossgraph.recommend.nba import ListOptions, recommendation_list

    engine = current_engine()
    options = ListOptions(limit=limit, kinds=KINDS, drivers=0)
    with graph() as g:
        for account in engine.account_ids[:scan]:
            body = recommendation_list(engine, lambda call: call(g), account, options)
            if {i["kind"] for i in body["items"]} == set(KINDS):
                print(account)
                return
    print(engine.account_ids[0])
