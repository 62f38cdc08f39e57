"""crossgraph evaluate: the served model next to every baseline on a time split."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from crossgraph.cli.common import console, err_console, fails_cleanly, graph
from crossgraph.data.orderlines import OrderLines, read_purchases
from crossgraph.dates import parse_cutoff
from crossgraph.errors import InvalidInput


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)


@fails_cleanly
def evaluate(
    purchases: Path = typer.Option(
        None,
        "--purchases",
        help="Evaluate on a file instead of the graph: the project's purchases.csv "
        "or the UCI Online Retail file (.csv or .csv.gz).",
    ),
    cutoff: str = typer.Option(
        None,
        help="Fit before this date, test on pairs first bought on or after it (YYYY-MM-DD). "
        "Default: 120 days before the last purchase.",
    ),
    segment: str = typer.Option(
        "segment", help="Account attribute for segment popularity (graph): segment, industry or country."
    ),
    tune_budget: int = typer.Option(
        0,
        "--tune",
        min=0,
        help="Search parameters first with this many ALS trials on validation folds "
        "carved from before the cutoff (0: the shipped defaults).",
    ),
    json_path: Path = typer.Option(None, "--json", help="Write every model's metrics as JSON."),
    plot: Path = typer.Option(None, help="Write a PNG chart comparing the models."),
) -> None:
    """Offline metrics @5 and @10 of the served model and every baseline, fitted on the same split."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit parallelises itself
    from crossgraph.model.evaluate import EvaluationConfig, evaluate_models, plot_report, render_table
    from crossgraph.model.hybrid import HybridParams
    from crossgraph.model.tuning import tune

    def say(message: str) -> None:
        err_console.print(message, style="dim", highlight=False)

    lines, segments = _load(purchases, segment)
    if len(lines) == 0:
        raise InvalidInput("no purchases to evaluate on")
    cut = _cutoff(cutoff, lines)
    say(f"{len(lines):,} order lines; cutoff {cut.date()}")
    served = HybridParams()
    tuning = None
    if tune_budget:
        tuning = tune(lines, cut, budget=tune_budget, progress=say)
        console.print(tuning.render_table(top=5))
        served = tuning.best
    report = evaluate_models(
        lines, cut, segments=segments, config=EvaluationConfig(served=served, als=served.als), progress=say
    )
    console.print(render_table(report))
    best = report.best_baseline()
    console.print(
        f"served {report.served.metrics['ndcg@10']:.4f} NDCG@10 vs best baseline {best.name} "
        f"{best.metrics['ndcg@10']:.4f} ({report.lift():+.1%})"
    )
    online = _online(purchases)
    if json_path:
        data = report.to_dict()
        if tuning is not None:
            data["tuning"] = tuning.to_dict()
        if online is not None:
            data["online"] = online
        json_path.write_text(json.dumps(data, indent=2) + "\n")
        say(f"wrote {json_path}")
    if plot:
        plot_report(report, plot)
        say(f"wrote {plot}")


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
