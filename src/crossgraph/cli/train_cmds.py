"""crossgraph train, crossgraph evaluate, and crossgraph models list | show | promote | rollback."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import typer
from rich.table import Table

from crossgraph.cli.common import console, err_console, fails_cleanly, graph, output_file, settings
from crossgraph.data.orderlines import OrderLines
from crossgraph.dates import parse_cutoff
from crossgraph.errors import GraphUnavailable, InvalidInput
from crossgraph.model.registry import Registry
from crossgraph.params import DEFAULT_PARAMS
from crossgraph.params import read_params as _read_params

if TYPE_CHECKING:
    from crossgraph.graph.driver import Graph
    from crossgraph.model.hybrid import HybridParams

models_app = typer.Typer(help="Versioned models: list, inspect, promote, roll back.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.add_typer(models_app, name="models")


def _registry() -> Registry:
    return Registry(settings().model_dir)


def _model_params(config: dict[str, Any], source: object) -> HybridParams:
    """The "model" section of a parameters file (built-in defaults without one)."""
    from crossgraph.model.hybrid import HybridParams

    try:
        return HybridParams.from_dict(config["model"]) if "model" in config else HybridParams()
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"bad model parameters in {source}: {exc}") from exc


def served_params(params_file: Path | None, model: str | None) -> tuple[HybridParams, str]:
    """The parameters `evaluate` fits as the served model, and a line saying where they come from.

    --params FILE: that file's "model" section; --model current|VERSION: the parameters recorded
    in that registry version's manifest; neither: the promoted version's when there is one, else
    training/params.json, else the built-in defaults."""
    if params_file is not None and model is not None:
        raise InvalidInput("--params and --model are alternatives: give one of them, not both")
    if params_file is not None:
        return _model_params(_read_params(params_file), params_file), f"parameters from {params_file}"
    registry = _registry()
    if model is None and registry.current_version() is None:
        if DEFAULT_PARAMS.exists():
            return _model_params(_read_params(DEFAULT_PARAMS), DEFAULT_PARAMS), (
                f"shipped parameters from {DEFAULT_PARAMS} (no model promoted in {registry.root})"
            )
        default = "built-in default parameters"
        return _model_params({}, default), f"{default} (no model promoted in {registry.root})"
    info = registry.current() if model in (None, "current") else registry.get(str(model))
    manifest = info.manifest
    recorded = manifest.get("params") or manifest.get("metrics", {}).get("served_params")
    where = info.path / "manifest.json"
    if not isinstance(recorded, dict):
        raise InvalidInput(f"{where} records no model parameters")
    params = _model_params({"model": recorded}, where)
    kind = "promoted version" if info.current else "version"
    return params, f"parameters of {kind} {info.version} ({where})"


@fails_cleanly
def evaluate(
    purchases: Path = typer.Option(
        None,
        "--purchases",
        help="Evaluate on a file instead of the graph: the project's purchases.csv, UCI Online "
        "Retail or Online Retail II, as CSV (plain or gzip) or Parquet (docs/data-format.md).",
    ),
    accounts: Path = typer.Option(
        None,
        "--accounts",
        help="With --purchases: an accounts file (CSV with id and the --segment column, e.g. the "
        "project's accounts.csv) for segment popularity. Online Retail files bring their country.",
    ),
    cutoff: str = typer.Option(
        None,
        help="Fit before this date, test on pairs first bought on or after it (YYYY-MM-DD). "
        "Default: 120 days before the last purchase.",
    ),
    segment: str = typer.Option(
        "segment",
        help="Account attribute for segment popularity (graph or --accounts): segment, industry or country.",
    ),
    params_file: Path = typer.Option(
        None,
        "--params",
        help='Fit the served model with the "model" parameters of this file (as crossgraph train reads it).',
    ),
    model: str = typer.Option(
        None,
        "--model",
        help="Fit the served model with the parameters recorded for this registry version "
        "(current, or a version name). Default: the promoted version's, or training/params.json "
        "when none is promoted.",
    ),
    tune_minutes: float = typer.Option(
        0.0,
        "--tune-minutes",
        min=0.0,
        help="Search the served model's and every baseline's parameters first, within this many "
        "minutes, on validation windows carved from before the cutoff, starting from the "
        "parameters above; the served model is then compared with the tuned baselines.",
    ),
    tune_budget: int = typer.Option(
        0,
        "--tune",
        min=0,
        help="Deprecated (was: this many ALS trials): any N > 0 tunes for 3 minutes; use --tune-minutes.",
    ),
    json_path: Path = typer.Option(
        None, "--json", callback=output_file, help="Write every model's metrics as JSON."
    ),
    plot: Path = typer.Option(None, callback=output_file, help="Write a PNG chart comparing the models."),
) -> None:
    """Offline metrics @5 and @10 of the served model and every baseline, fitted on the same split."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit parallelises itself
    from crossgraph.model.evaluate import (
        EvaluationConfig,
        check_cutoff,
        evaluate_models,
        interval_line,
        plot_report,
        render_table,
    )
    from crossgraph.model.tuning import tune, tuned_config

    def say(message: str) -> None:
        err_console.print(message, style="dim", highlight=False)

    minutes = tuning_minutes(tune_minutes, tune_budget, say)
    served, source = served_params(params_file, model)
    if accounts is not None and purchases is None:
        raise InvalidInput("--accounts goes with --purchases (on the graph, accounts come from the graph)")
    lines, segments = _load(purchases, segment, accounts)
    if len(lines) == 0:
        raise InvalidInput("no purchases to evaluate on")
    cut = _cutoff(cutoff, lines)
    check_cutoff(lines, cut)
    say(f"{len(lines):,} order lines; cutoff {cut.date()}")
    tuning = None
    dense = settings().dense
    config = EvaluationConfig(served=served, als=served.als, dense=dense)
    if minutes:
        window = (lines.ordered_at.max().astype("datetime64[s]") - np.datetime64(cut, "s")) / np.timedelta64(
            1, "D"
        )
        tuning = tune(
            lines, cut, minutes=minutes, window_days=float(window), start=served, progress=say, dense=dense
        )
        console.print(tuning.render_table(top=5))
        served, source = tuning.best, f"tuned here ({tuning.seconds:.0f}s), starting from {source}"
        config = replace(tuned_config(tuning), dense=dense)
    # What scores the served row (and, when it differs from the EASE baseline, the ease_partner row
    # is the blend's EASE alone): 'hybrid (ALS + EASE (DAN, accounts beta 0.25, ...) + item-kNN)'.
    console.print(f"served model: {source}; {served.describe()}", highlight=False)
    report = evaluate_models(lines, cut, segments=segments, config=config, progress=say)
    console.print(render_table(report))
    best = report.best_baseline()
    console.print(
        f"served {report.served.metrics['ndcg@10']:.4f} NDCG@10 vs best baseline {best.name} "
        f"{best.metrics['ndcg@10']:.4f} ({report.lift_text()}); {interval_line(report)}",
        highlight=False,
    )
    online = _online(purchases)
    if json_path:
        data = report.to_dict()
        data["served_params_source"] = source
        if tuning is not None:
            data["tuning"] = tuning.to_dict()
        if online is not None:
            data["online"] = online
        json_path.write_text(json.dumps(data, indent=2) + "\n")
        say(f"wrote {json_path}")
    if plot:
        plot_report(report, plot)
        say(f"wrote {plot}")


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
    tune_minutes: float = typer.Option(
        None,
        "--tune-minutes",
        min=0.0,
        help="Search the model's and every baseline's parameters first, within this many minutes, on "
        "windows before the cutoff, starting from the promoted version's parameters (else the "
        "file's); the search is recorded in the manifest. Default: tune_minutes in the parameters "
        "file (3 in training/params.json); 0 = no tuning.",
    ),
    tune_budget: int = typer.Option(
        None,
        "--tune",
        min=0,
        help="Deprecated (was: this many ALS trials): any N > 0 tunes for 3 minutes; use --tune-minutes.",
    ),
    engine: str = typer.Option(
        "local",
        "--engine",
        help="Who fits the final model: local (implicit, this machine) or spark (Spark MLlib ALS; "
        "pip install 'crossgraph[spark]'; docs/scale.md).",
    ),
    master: str = typer.Option(
        "local[2]", "--master", help="Spark master with --engine spark: local[N], spark://HOST:7077, yarn."
    ),
    driver_memory: str = typer.Option("2g", "--driver-memory", help="Spark driver memory (--engine spark)."),
    parquet: str = typer.Option(
        None,
        "--parquet",
        help="With --engine spark: read the order lines from Parquet in Spark instead of exporting them "
        "from the graph (the folder `crossgraph export --parquet` writes, or a data lake's Parquet "
        "with the same columns: a path, hdfs:// or s3a://). Accounts and products still come from "
        "the graph. No tuning on this path.",
    ),
    evaluation_sample: int = typer.Option(
        20_000,
        "--evaluation-sample",
        min=1,
        help="With --parquet: the evaluation ranks at most this many test accounts (a seeded random "
        "sample; the manifest's engine.evaluation says how many of how many).",
    ),
    checkpoint_dir: str = typer.Option(
        None,
        "--checkpoint-dir",
        help="With --engine spark: where ALS checkpoints its factors. Must be storage every executor "
        "shares (hdfs://, s3a://, a shared volume) on a cluster; a temporary folder when not given.",
    ),
) -> None:
    """Nightly job: export -> evaluate vs baselines -> gate -> fit -> artifact -> promote -> write-back.

    Exit code 0 when the new model was promoted, 2 when the gate refused it (the current model
    stays; the artifact is kept for inspection), 1 on errors."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit parallelises itself
    from crossgraph.graph.changes import change_seq, prune_changes
    from crossgraph.graph.export import export_accounts, export_installed, export_order_lines, export_products
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
    if engine not in ("local", "spark"):
        raise InvalidInput(f"--engine {engine!r}: expected local or spark")
    if parquet is not None and engine != "spark":
        raise InvalidInput(
            "--parquet goes with --engine spark (the local engine trains on the graph's lines)"
        )
    spark = None
    if engine == "spark":
        from crossgraph.model.spark_als import SparkConfig

        spark = SparkConfig(
            master=master,
            driver_memory=driver_memory,
            evaluation_sample=evaluation_sample,
            checkpoint_dir=checkpoint_dir,
        )

    def say(message: str) -> None:
        err_console.print(message, style="dim", highlight=False)

    if gate.tolerance is not None:
        say(
            "gate.tolerance is deprecated and ignored: the gate refuses a model the current one beats "
            "with a paired bootstrap interval excluding zero (docs/quality.md)"
        )
    minutes = tuning_minutes(
        tune_minutes if tune_minutes is not None else config.get("tune_minutes"),
        tune_budget if tune_budget is not None else config.get("tune_budget"),
        say,
    )
    if parquet is not None and minutes:
        if tune_minutes:
            raise InvalidInput(
                "--tune-minutes needs the order lines on this machine; it does not go with --parquet"
            )
        say(f"--parquet: the parameters file's {minutes:g} tuning minutes are skipped (no tuning in Spark)")

    timings: dict[str, float] = {}
    with graph() as g:
        say("exporting purchases from the graph" if parquet is None else "exporting accounts and products")
        with timed(timings, "export"):
            changes_until = change_seq(g)  # before the export: a change during it is replayed, not lost
            retention = timedelta(days=settings().change_retention_days)
            pruned = prune_changes(g, datetime.now(UTC) - retention)
            if pruned:
                say(f"change feed: {pruned:,} changes older than {retention.days} days deleted")
            lines = export_order_lines(g, line_ids=False) if parquet is None else OrderLines.empty()
            accounts, products = export_accounts(g), export_products(g)
            installed = export_installed(g)
        if parquet is not None and spark is not None:
            from crossgraph.model.spark_train import train_on_spark

            result = train_on_spark(
                parquet,
                accounts,
                products,
                registry,
                spark=spark,
                params=params,
                cutoff=cut,
                test_days=int(config.get("test_days", 120)),
                gate=gate,
                segment_key=str(config.get("segment", "segment")),
                progress=say,
                timings=timings,
                installed=installed,
                changes_until=changes_until,
                peer_search=settings().peer_search,
                knn_dense_max_products=settings().knn_dense_max_products,
                dense=settings().dense,
            )
        else:
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
                tune_minutes=minutes,
                max_coverage_loss=float(config.get("max_coverage_loss", 0.2)),
                tune_components=config.get("tune_components"),
                progress=say,
                timings=timings,
                installed=installed,
                changes_until=changes_until,
                peer_search=settings().peer_search,
                spark=spark,
                knn_dense_max_products=settings().knn_dense_max_products,
                dense=settings().dense,
            )
        console.print(render_table(result.report))
        peers_warning = (result.manifest.get("peers") or {}).get("warning")
        if peers_warning:
            console.print(f"[yellow]warning:[/] {peers_warning}")
        if not result.passed:
            say(_stage_line(timings))
            console.print(f"[red]gate refused {result.version}:[/] " + "; ".join(result.reasons))
            console.print(f"current model stays: {registry.current_version() or 'none'}")
            raise typer.Exit(code=2)
        registry.promote(result.version, reason=f"train: {gate.metric} {result.score:.4f}")
        console.print(f"promoted {result.version} ({gate.metric} {result.score:.4f})")
        if not no_write_back:
            with timed(timings, "write-back"):
                _write_back(g, result.version, config)
        say(_stage_line(timings))


DEPRECATED_TUNE_MINUTES = 3.0


def tuning_minutes(minutes: object, trials: object, say: Any) -> float:
    """Minutes to tune from --tune-minutes (or tune_minutes) and the deprecated --tune N
    (tune_budget): N > 0 without minutes means the default 3 minutes, with a warning."""
    try:
        if minutes is not None:
            value = float(minutes)  # type: ignore[arg-type]
            if value < 0:
                raise ValueError(value)
            return value
        if trials is not None and int(trials) > 0:  # type: ignore[call-overload]
            say(
                f"--tune N / tune_budget is deprecated (it counted ALS trials and did not bound the time); "
                f"tuning for {DEPRECATED_TUNE_MINUTES:g} minutes instead - use --tune-minutes / tune_minutes"
            )
            return DEPRECATED_TUNE_MINUTES
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"tune_minutes must be a number of minutes >= 0, got {minutes!r}") from exc
    return 0.0


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
def show(
    version: str = typer.Argument(None, help="Version (default: the current one)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole manifest as JSON."),
) -> None:
    """A version's summary: data, parameters, the gate's verdict and metrics next to the baselines."""
    registry = _registry()
    info = registry.get(version) if version else registry.current()
    if as_json:
        print(json.dumps(info.manifest, indent=2))
        return
    m = info.manifest
    data, gate, params = m.get("data", {}), m.get("gate", {}), m.get("params", {})
    als, ease = params.get("als", {}), params.get("ease", {})
    from crossgraph.model.baselines import EASEParams

    variant = EASEParams.from_dict(ease).variant if ease.get("regularization") is not None else ""
    ease_variant = f" ({variant})" if variant else ""
    lines = [
        f"[bold]{info.version}[/]" + (" (current)" if info.current else ""),
        f"created {m.get('created', '?')}, trained on purchases until {m.get('trained_until', '?')}",
        f"data: {data.get('accounts', 0):,} accounts x {data.get('products', 0):,} products, "
        f"{data.get('pairs', 0):,} bought pairs, {data.get('installed_only_pairs', 0):,} installed only; "
        f"fingerprint {str(data.get('fingerprint', ''))[:12]}",
        f"model: {m.get('model', '?')}; ALS {als.get('factors')} factors, regularization "
        f"{als.get('regularization')}, alpha {als.get('alpha')}, {als.get('iterations')} iterations; "
        f"EASE lambda {ease.get('regularization')}{ease_variant}; "
        f"blend ALS {params.get('als_weight')} / EASE {params.get('ease_weight')} "
        f"/ kNN {params.get('knn_weight')} / RP3beta {params.get('rp3_weight', 0.0)} "
        f"/ bought next {params.get('seq_weight', 0.0)}",
    ]
    engine, peers = m.get("engine") or {}, m.get("peers") or {}
    if engine.get("name") == "spark":
        lines.append(
            f"engine: Spark {engine.get('spark')} on {engine.get('master')}, regParam "
            f"{engine.get('reg_param', 0):.4g}; EASE {engine.get('ease')}"
        )
    left_out = [
        f"{name} ({record.get('reason')})"
        for name, record in (engine.get("components") or {}).items()
        if record.get("status") == "left out"
    ]
    if left_out:
        lines.append("left out of the blend: " + ", ".join(left_out))
    capped = [
        f"{name} (top {record['products']:,} of {record['of']:,} products)"
        for name, record in (engine.get("components") or {}).items()
        if record.get("status") == "capped" and "products" in record
    ]
    if capped:
        lines.append("capped in the blend: " + ", ".join(capped))
    if peers:
        lines.append(_peers_line(peers))
        if peers.get("warning"):
            lines.append(f"[yellow]warning:[/] {peers['warning']}")
    if m.get("tuning"):
        tuned = m["tuning"]
        lines.append(
            f"tuned: {len(tuned.get('trials', []))} trials on validation windows in "
            f"{tuned.get('seconds', '?')}s of {tuned.get('budget_seconds', '?')}s"
        )
        guard = tuned.get("guard") or {}
        if guard.get("raised"):
            lines.append(
                f"guard: the best blend lost to the tuned {guard.get('best_baseline')} on validation; "
                f"raised {guard.get('raised')}'s weight ({'met' if guard.get('met') else 'still below'})"
            )
    if gate:
        verdict = (
            "[green]passed[/]"
            if gate.get("passed")
            else "[red]refused[/]: " + "; ".join(gate.get("reasons", []))
        )
        lines.append(f"gate: {verdict}")
    for line in lines:
        console.print(line, highlight=False)
    models = m.get("metrics", {}).get("models", [])
    if models:
        keys = ("ndcg@10", "precision@10", "recall@10", "hit_rate@10", "coverage@10", "top1_share@10")
        versus = m.get("metrics", {}).get("served_vs_best_baseline")
        table = Table(
            title=f"Offline metrics at cutoff {m.get('metrics', {}).get('cutoff', '?')}",
            caption=None if not versus else _versus_line(versus),
        )
        for column in ("model", "role", *keys):
            table.add_column(column, justify="left" if column in ("model", "role") else "right")
        for row in models:
            values = row.get("metrics", {})
            table.add_row(
                row.get("name", ""),
                row.get("role", ""),
                *(f"{values[k]:.4f}" if isinstance(values.get(k), float) else "" for k in keys),
            )
        console.print(table)
    console.print(f"whole manifest: crossgraph models show {info.version} --json", style="dim")


def _peers_line(peers: dict[str, Any]) -> str:
    """'similar accounts: hnsw, efSearch 288 (calibrated), recall 0.9853 (95 % lower bound 0.9831,
    target 0.98) against exact on 1,000 accounts'; artifacts before calibration: no efSearch."""
    recall = next((v for k, v in peers.items() if k.startswith("recall@")), None)
    line = f"similar accounts: {peers.get('method')}"
    if peers.get("ef_search") is not None:
        line += f", efSearch {peers['ef_search']} (calibrated)"
    if recall and peers.get("recall_sample"):
        line += f", recall {recall:.4f}"
        if peers.get("recall_lower_bound") is not None:
            line += (
                f" (95 % lower bound {peers['recall_lower_bound']:.4f}, target {peers.get('recall_target')})"
            )
        line += f" against exact on {peers.get('recall_sample'):,} accounts"
    return line


def _versus_line(versus: dict[str, Any]) -> str:
    """The manifest's served_vs_best_baseline as one line."""
    verdict = "" if versus.get("distinguishable") else ": not distinguishable"
    return (
        f"served - {versus.get('baseline')} NDCG@10 {versus.get('difference', 0):+.4f}, 95% interval "
        f"[{versus.get('low', 0):+.4f}, {versus.get('high', 0):+.4f}]{verdict}"
    )


@models_app.command("promote")
@fails_cleanly
def promote(
    version: str = typer.Argument(..., help="The version to serve."),
    no_write_back: bool = typer.Option(
        False, "--no-write-back", help="Leave the graph's SIMILAR_TO / RECOMMENDED as they are."
    ),
    params_file: Path = typer.Option(
        None, "--params", help="Write-back sizes (default training/params.json)."
    ),
) -> None:
    """Make VERSION current (atomic; servers pick it up on their next reload) and write its peers
    and suggestions into the graph."""
    info = _registry().promote(version, reason="manual promote")
    console.print(f"current model: {info.version}")
    if not no_write_back:
        _write_back_current(info.version, params_file)


@models_app.command("rollback")
@fails_cleanly
def rollback(
    no_write_back: bool = typer.Option(
        False, "--no-write-back", help="Leave the graph's SIMILAR_TO / RECOMMENDED as they are."
    ),
    params_file: Path = typer.Option(
        None, "--params", help="Write-back sizes (default training/params.json)."
    ),
) -> None:
    """Make the previously promoted version current again and write its peers and suggestions
    into the graph."""
    info = _registry().rollback()
    console.print(f"rolled back; current model: {info.version}")
    if not no_write_back:
        _write_back_current(info.version, params_file)


def _write_back_current(version: str, params_file: Path | None) -> None:
    """The graph's SIMILAR_TO / RECOMMENDED / ModelVersion follow the served model. The model is
    promoted either way; an unreachable graph is a warning with the command to catch up."""
    try:
        with graph() as g:
            _write_back(g, version, _read_params(params_file))
    except GraphUnavailable as exc:
        err_console.print(
            f"[yellow]warning:[/] the graph still holds the previous model's SIMILAR_TO / RECOMMENDED "
            f"({exc}); when Neo4j is back: crossgraph models promote {version}",
            highlight=False,
        )


def _write_back(g: Graph, version: str, config: dict[str, Any]) -> None:
    """Write `version`'s peers and suggestions, as many per account as `config` says."""
    from crossgraph.graph.writeback import write_back_version

    report = write_back_version(g, _registry(), version, config)
    console.print(f"wrote {report.similar:,} SIMILAR_TO and {report.recommended:,} RECOMMENDED of {version}")


# -- evaluate's inputs ------------------------------------------------------------------
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


def _load(
    purchases: Path | None, segment: str, accounts: Path | None = None
) -> tuple[OrderLines, dict[str, str | None]]:
    if purchases is not None:
        from crossgraph.data.purchase_file import read_purchase_file, read_segments

        data = read_purchase_file(purchases)
        err_console.print(f"{purchases.name}: {data.format}", style="dim", highlight=False)
        if accounts is not None:
            return data.lines, read_segments(accounts, segment)
        return data.lines, data.segments
    if segment not in ("segment", "industry", "country"):
        raise InvalidInput(f"--segment must be segment, industry or country, got {segment!r}")
    from crossgraph.graph.export import export_accounts, export_order_lines

    with graph() as g:
        lines = export_order_lines(g, line_ids=False)  # evaluation never looks at line ids
        segments = {str(a["id"]): a.get(segment) for a in export_accounts(g)}
    return lines, segments


def _cutoff(text: str | None, lines: OrderLines) -> datetime:
    if text:
        return parse_cutoff(text)
    from crossgraph.model.train import default_cutoff

    return default_cutoff(lines, test_days=120)
