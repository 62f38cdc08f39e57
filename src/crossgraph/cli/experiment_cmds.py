"""crossgraph experiment start | status | stop: online experiments between models (docs/experiments.md)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from crossgraph.cli.common import console, fails_cleanly, graph, settings

app = typer.Typer(help="Online experiments: split accounts between models and compare what reps do.")


@app.command()
@fails_cleanly
def start(
    name: str = typer.Argument(..., help="A new name (letters, digits, _ . -)"),
    arms: str = typer.Option(
        ..., help="Comma-separated arms: current (the promoted model) or model versions"
    ),
    share: str = typer.Option(None, help="Percent of accounts per arm, e.g. 50/50 (default: equal)"),
) -> None:
    """Start an experiment: every API worker picks it up within one poll interval, loads the
    arms' models next to the current one and answers each account from its arm."""
    from crossgraph.experiment.design import CURRENT, Design
    from crossgraph.graph.experiments import start_experiment
    from crossgraph.model.registry import Registry

    design = Design.parse(name, arms, share)
    registry = Registry(settings().model_dir)
    for arm in design.arms:
        if arm != CURRENT:
            registry.get(arm)  # RegistryError naming the latest versions when unknown
    with graph() as g:
        start_experiment(g, design)
    split = ", ".join(f"{arm} {pct} %" for arm, pct in zip(design.arms, design.shares, strict=True))
    console.print(f"experiment [bold]{name}[/] running: {split}")


@app.command()
@fails_cleanly
def status(
    name: str = typer.Argument(..., help="Experiment name"),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON GET /v1/experiments/NAME answers"),
) -> None:
    """Per arm: shown, accepted, won, take rate, win rate, won value, with 95 % intervals, and
    a verdict when the difference is clear."""
    from crossgraph.graph.experiments import experiment_report

    s = settings()
    with graph() as g:
        body = experiment_report(g, name, s.experiment_alpha, s.experiment_min_shown)
    if as_json:
        print(json.dumps(body, indent=2))
    else:
        show(body)


@app.command()
@fails_cleanly
def stop(name: str = typer.Argument(..., help="Experiment name")) -> None:
    """End the experiment and record its result (status then shows the recorded result); the
    workers drop the arms' models within one poll interval."""
    from crossgraph.graph.experiments import arm_counts, get_experiment, report, stop_experiment

    s = settings()
    with graph() as g:
        experiment = get_experiment(g, name)
        body = report(
            experiment, arm_counts(g, experiment.design), s.experiment_alpha, s.experiment_min_shown
        )
        show(stop_experiment(g, name, body))


def show(body: dict[str, Any]) -> None:
    table = Table(
        title=f"Experiment {body['name']} ({body['status']}, since {body['started_at'][:16]})",
        title_justify="left",
    )
    for column in ("arm", "share", "shown", "accepted", "won", "lost", "take rate", "win rate", "won value"):
        table.add_column(column, justify="left" if column == "arm" else "right")
    for arm in body["arms"]:
        table.add_row(
            arm["arm"],
            f"{body['shares'][arm['arm']]} %",
            f"{arm['shown']:,}",
            f"{arm['accepted']:,}",
            f"{arm['won']:,}",
            f"{arm['lost']:,}",
            _rate(arm["take_rate"]),
            _rate(arm["win_rate"]),
            f"{arm['won_value']:,.2f}",
        )
    console.print(table)
    for c in body["comparisons"]:
        take = c["take_rate"]
        if take is not None:
            console.print(
                f"{c['arm']} vs {c['against']}: take rate {take['difference'] * 100:+.1f} points "
                f"(95 % CI {take['low'] * 100:+.1f} to {take['high'] * 100:+.1f}), p = {take['p_value']:.3g}"
            )
    console.print(
        f"[bold]verdict:[/] {body['verdict']}" if body["verdict"] else f"no verdict: {body['why_no_verdict']}"
    )


def _rate(rate: dict[str, float] | None) -> str:
    if rate is None:
        return "-"
    return f"{rate['value'] * 100:.1f} % ({rate['low'] * 100:.1f}-{rate['high'] * 100:.1f})"
