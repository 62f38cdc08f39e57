"""crossgraph worklist [refresh]: which accounts to work this week (recommend.worklist)."""

from __future__ import annotations

import json
import time
from enum import StrEnum

import typer
from rich.table import Table

from crossgraph.cli.common import console, err_console, fails_cleanly, graph, progress_bar, settings

app = typer.Typer(
    help="The account worklist: upsell potential, open opportunity value, flags. "
    "`refresh` computes it (after training); without a subcommand it shows the newest.",
    invoke_without_command=True,
    no_args_is_help=False,
)


class SortBy(StrEnum):
    potential = "potential"
    open_value = "open_value"
    revenue = "revenue"
    last_touchpoint = "last_touchpoint"


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@app.callback()
@fails_cleanly
def show(
    ctx: typer.Context,
    sort: SortBy = typer.Option(
        SortBy.potential,
        help="potential | open_value | revenue (highest first), last_touchpoint (longest ago)",
    ),
    segment: str = typer.Option(None, help="Only these segments (comma-separated)"),
    country: str = typer.Option(None, help="Only these countries (comma-separated)"),
    owner: str = typer.Option(None, help="Only accounts of these owners (comma-separated)"),
    flag: str = typer.Option(
        None,
        help="Only accounts with all these flags: upsell_talk_due, contract_ends_soon, revenue_falling, "
        "key_contact_left",
    ),
    limit: int = typer.Option(20, min=1, max=10_000, help="Rows to show"),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON"),
) -> None:
    """Show the newest worklist, best accounts first."""
    if ctx.invoked_subcommand is not None:
        return
    from crossgraph.recommend.worklist import WorklistHolder

    worklist = WorklistHolder(settings().worklist_folder).get()
    total, rows = worklist.page(
        sort=sort.value,
        segment=_split(segment),
        country=_split(country),
        owner=_split(owner),
        flag=_split(flag),
        limit=limit,
    )
    if as_json:
        print(
            json.dumps({"as_of": worklist.body["as_of"], "total": len(rows), "rows": rows[:limit]}, indent=2)
        )
        return
    table = Table(
        title=f"Worklist as of {worklist.body['as_of']} (model {worklist.body['model_version']}): "
        f"{total:,} accounts, sorted by {sort.value}",
        title_justify="left",
    )
    for name, justify in (
        ("account", "left"),
        ("potential", "right"),
        ("open value", "right"),
        ("top opportunity", "left"),
        ("contract ends", "left"),
        ("last touchpoint", "left"),
        ("flags", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        top = row["top_opportunity"]
        contract = row["next_contract_end"]
        touch = row["last_touchpoint"]
        table.add_row(
            f"{row['name']} ({row['id']})",
            str(row["potential"]),
            f"{row['open_value']:,.0f}",
            f"{top['kind'].replace('_', '-')}: {top['name']}" if top else "-",
            f"{contract['ends_at']} ({contract['days_left']} d)" if contract else "-",
            f"{touch['occurred_at']} {touch['type'].replace('_', ' ')}" if touch else "never",
            ", ".join(f.replace("_", " ") for f in row["flags"]),
        )
    console.print(table)


@app.command()
@fails_cleanly
def refresh(
    as_of: str = typer.Option(
        None, "--as-of", help="Compute as of this day, YYYY-MM-DD (default today, UTC)"
    ),
    keep: int = typer.Option(30, min=1, max=1000, help="Snapshots to keep (the oldest go)"),
    workers: int = typer.Option(2, min=1, max=64, help="Pages of accounts computed at a time"),
    page: int = typer.Option(
        200, min=1, max=5000, help="Accounts whose facts are read from the graph in one query"
    ),
) -> None:
    """Compute the worklist for every account of the graph with the promoted model and write a
    snapshot the API and `crossgraph worklist` read, then the KPIs of the same day and the
    accounts ranked by revenue, which `GET /v1/kpis` and `GET /v1/whitespace` answer from
    without asking the graph for them (intel.nightly). Run it after `crossgraph train`."""
    from crossgraph.api.app import intel_config
    from crossgraph.cli.account_cmds import current_engine
    from crossgraph.dates import parse_day
    from crossgraph.intel.nightly import refresh_nightly
    from crossgraph.recommend.worklist import build_worklist, write_snapshot

    config = settings()
    day = parse_day(as_of) if as_of else None
    engine = current_engine()
    with graph() as g, progress_bar() as progress:
        body = build_worklist(
            engine,
            g,
            as_of=day,
            intel=intel_config(config, g),
            suppress_days=config.feedback_suppress_days,
            workers=workers,
            page=page,
            progress=progress,
        )
    path = write_snapshot(config.worklist_folder, body, keep=keep)
    rows = body["rows"]
    flagged = sum(1 for r in rows if r["flags"])
    err_console.print(
        f"worklist of {len(rows):,} accounts as of {body['as_of']} (model {body['model_version']}) "
        f"in {body['seconds']} s, {flagged:,} flagged: {path}"
    )
    started = time.perf_counter()
    with graph() as g:
        nightly, kpis, ranked = refresh_nightly(
            g, config.worklist_folder, as_of=parse_day(body["as_of"]), cac=config.kpi_cac
        )
    err_console.print(
        f"KPIs as of {kpis.as_of} (with their quarterly history) and the top {ranked} accounts "
        f"by revenue in {time.perf_counter() - started:.1f} s: {nightly}"
    )
