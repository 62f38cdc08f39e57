"""crossgraph train, and crossgraph models list | show | promote | rollback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from crossgraph.cli.common import console, err_console, fails_cleanly, graph, settings
from crossgraph.errors import InvalidInput
from crossgraph.model.registry import Registry

models_app = typer.Typer(help="Versioned models: list, inspect, promote, roll back.", no_args_is_help=True)
DEFAULT_PARAMS = Path("training/params.json")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.add_typer(models_app, name="models")


def _registry() -> Registry:
    return Registry(settings().model_dir)


def _read_params(path: Path | None) -> dict[str, Any]:
    path = path or (DEFAULT_PARAMS if DEFAULT_PARAMS.exists() else None)
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read the parameters file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} must hold a JSON object")
    return data


@fails_cleanly
def train(
    params_file: Path = typer.Option(
        None, "--params", help="Parameters and gate (default training/params.json)."
    ),
    cutoff: str = typer.Option(
        None, help="Evaluation cutoff YYYY-MM-DD (default: test_days before the last purchase)."
    ),
    no_write_back: bool = typer.Option(
        False, "--no-write-back", help="Do not write SIMILAR_TO / RECOMMENDED."
    ),
    tune_budget: int = typer.Option(
        None,
        "--tune",
        min=0,
        help="Search parameters first (this many ALS trials) on windows before the cutoff; the best "
        "are recorded in the manifest. Default: tune_budget in the parameters file, or 0.",
    ),
) -> None:
    """Nightly job: export -> evaluate vs baselines -> gate -> fit -> artifact -> promote -> write-back.

    Exit code 0 when the new model was promoted, 2 when the gate refused it (the current model
    stays; the artifact is kept for inspection), 1 on errors."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit parallelises itself
    from crossgraph.dates import parse_cutoff
    from crossgraph.graph.export import export_accounts, export_order_lines, export_products
    from crossgraph.graph.writeback import write_back
    from crossgraph.model.artifact import Artifact
    from crossgraph.model.evaluate import render_table
    from crossgraph.model.hybrid import HybridParams
    from crossgraph.model.train import GateConfig, timed
    from crossgraph.model.train import train as run_training

    config = _read_params(params_file)
    try:
        params = HybridParams.from_dict(config["model"]) if "model" in config else HybridParams()
        gate = GateConfig(**config.get("gate", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"bad parameters: {exc}") from exc
    cut = parse_cutoff(cutoff) if cutoff else None
    registry = _registry()

    def say(message: str) -> None:
        err_console.print(message, style="dim", highlight=False)

    timings: dict[str, float] = {}
    with graph() as g:
        say("exporting purchases from the graph")
        with timed(timings, "export"):
            lines = export_order_lines(g)
            accounts, products = export_accounts(g), export_products(g)
        result = run_training(
            lines,
            accounts,
            products,
            registry,
            params=params,
            cutoff=cut,
            test_days=int(config.get("test_days", 120)),
            gate=gate,
            segment_key=str(config.get("segment", "segment")),
            tune_budget=int(tune_budget if tune_budget is not None else config.get("tune_budget", 0)),
            progress=say,
            timings=timings,
        )
        console.print(render_table(result.report))
        if not result.passed:
            say(_stage_line(timings))
            console.print(f"[red]gate refused {result.version}:[/] " + "; ".join(result.reasons))
            console.print(f"current model stays: {registry.current_version() or 'none'}")
            raise typer.Exit(code=2)
        registry.promote(result.version, reason=f"train: {gate.metric} {result.score:.4f}")
        console.print(f"promoted {result.version} ({gate.metric} {result.score:.4f})")
        if not no_write_back:
            wb = config.get("write_back", {})
            with timed(timings, "write-back"):
                report = write_back(
                    g,
                    Artifact.load(registry.get(result.version).path),
                    peers=int(wb.get("peers", 10)),
                    products=int(wb.get("products", 10)),
                )
            console.print(f"wrote {report.similar:,} SIMILAR_TO and {report.recommended:,} RECOMMENDED")
        say(_stage_line(timings))


def _stage_line(timings: dict[str, float]) -> str:
    """'seconds: export 1.2, evaluate 3.4, ... (total 5.6)'"""
    stages = ", ".join(f"{name} {seconds:.1f}" for name, seconds in timings.items())
    return f"seconds: {stages} (total {sum(timings.values()):.1f})"


@models_app.command("list")
@fails_cleanly
def list_models() -> None:
    """Every kept version, newest last; * marks the current one."""
    table = Table(title=f"Models in {settings().model_dir}")
    for column in ("", "version", "created", "ndcg@10", "gate"):
        table.add_column(column)
    for info in _registry().versions():
        metrics = info.manifest.get("metrics", {})
        served: dict[str, Any] = next((m for m in metrics.get("models", []) if m.get("role") == "served"), {})
        score = served.get("metrics", {}).get("ndcg@10")
        passed = info.manifest.get("gate", {}).get("passed")
        table.add_row(
            "*" if info.current else "",
            info.version,
            info.created,
            f"{score:.4f}" if score is not None else "",
            {True: "passed", False: "refused"}.get(passed, ""),
        )
    console.print(table)


@models_app.command("show")
@fails_cleanly
def show(version: str = typer.Argument(None, help="Version (default: the current one).")) -> None:
    """Print a version's manifest."""
    registry = _registry()
    info = registry.get(version) if version else registry.current()
    print(json.dumps(info.manifest, indent=2))


@models_app.command("promote")
@fails_cleanly
def promote(version: str) -> None:
    """Make VERSION current (atomic; servers pick it up on their next reload)."""
    info = _registry().promote(version, reason="manual promote")
    console.print(f"current model: {info.version}")


@models_app.command("rollback")
@fails_cleanly
def rollback() -> None:
    """Make the previously promoted version current again."""
    info = _registry().rollback()
    console.print(f"rolled back; current model: {info.version}")
