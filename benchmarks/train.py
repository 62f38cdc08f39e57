"""Training pipeline benchmark: seconds per stage of `crossgraph train` on large demo data.

    .venv/bin/python benchmarks/train.py                                  # 100k accounts, 5k products
    .venv/bin/python benchmarks/train.py --accounts 2000 --products 300   # quick check, < 1 min
    .venv/bin/python benchmarks/train.py --keep-data /tmp/cg-train        # keep CSVs + loaded graph

Generates demo data (100k accounts x 5k products: ~7.9M order lines, ~2M BOUGHT pairs),
starts its own Neo4j (the project's launcher, temporary data folder, free port), loads the
data (setup, timed but not part of the pipeline), then runs the nightly job's code path
(graph.export -> model.train.train -> promote -> graph.writeback) with the parameters of
training/params.json and a fresh model registry, and prints seconds per stage. Tuning is
off unless --tune-minutes M is given; there is no current model, so the gate refits nothing.

It then fits ALS alone on the same matrix twice over: crossgraph's ALSRecommender.fit
(weighting included) and a raw implicit AlternatingLeastSquares.fit on the same weighted
CSR matrix with the same parameters and BLAS limit; best of --fit-repeats each.

Targets (issue tracker): pipeline (export .. write-back) < 5 minutes on this machine
(2 cores, 24 GiB); our ALS fit time / raw implicit fit time <= 1.1.

With --keep-data DIR the CSV files go to DIR/demo and the server's data to DIR/data; a rerun
with the same --accounts/--products/--seed reuses both and skips generation and loading (the
graph then still holds the previous run's SIMILAR_TO / RECOMMENDED, so write-back replaces
them, as in a nightly run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from crossgraph.data.demo import generate_demo
from crossgraph.data.matrix import Interactions, build_interactions
from crossgraph.data.weighting import weighted_matrix
from crossgraph.graph.driver import Graph
from crossgraph.graph.export import export_accounts, export_installed, export_order_lines, export_products
from crossgraph.graph.ingest import load_directory
from crossgraph.graph.schema import graph_stats, init_schema
from crossgraph.graph.writeback import write_back
from crossgraph.model.als import ALSParams, ALSRecommender
from crossgraph.model.artifact import Artifact
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.registry import Registry
from crossgraph.model.train import GateConfig, TrainResult, timed, train
from crossgraph.server.local import LocalServer, free_port
from crossgraph.settings import Settings

AS_OF = date(2026, 6, 30)  # fixed, so the same arguments give the same data on every run
PIPELINE_TARGET_S = 300.0
FIT_RATIO_TARGET = 1.1
DEFAULT_PARAMS = Path(__file__).resolve().parents[1] / "training" / "params.json"
STAGE_NOTES = {
    "export": "order lines, accounts, products from Neo4j",
    "tune": "parameter search on pre-cutoff windows",
    "split": "time split: train and test matrices",
    "evaluate": "served model, references and baselines on the split",
    "gate": "current model refitted on the split",
    "fit": "matrix + ALS/EASE/kNN blend on all purchases",
    "artifact": "peers, top-50 products, evidence, factors, manifest",
    "promote": "current -> new version",
    "write-back": "SIMILAR_TO and RECOMMENDED",
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--keep-data", type=Path, default=None, metavar="DIR", help="keep (and reuse) CSVs and graph in DIR"
    )
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="training parameters file")
    parser.add_argument(
        "--tune-minutes", type=float, default=0.0, metavar="M", help="tune within M minutes first (default 0)"
    )
    parser.add_argument("--fit-repeats", type=int, default=3, help="ALS fits per side (best counts)")
    parser.add_argument("--heap", default="4g", help="Neo4j heap (default 4g)")
    parser.add_argument("--pagecache", default="4g", help="Neo4j page cache (default 4g)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    console = Console() if sys.stdout.isatty() else Console(width=120)  # readable when piped to a file

    with tempfile.TemporaryDirectory(prefix="crossgraph-train-bench-") as tmp:
        work = args.keep_data.resolve() if args.keep_data else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            neo4j_uri=None,
            neo4j_port=free_port(),
            data_dir=work / "data",
            model_dir=Path(tmp) / "models",
            neo4j_heap=args.heap,
            neo4j_pagecache=args.pagecache,
        )
        bench = Bench(console)
        stamp = work / "benchmark.json"
        wanted = {
            "accounts": args.accounts,
            "products": args.products,
            "seed": args.seed,
            "as_of": str(AS_OF),
        }
        kept = _read_stamp(stamp) if args.keep_data else {}
        reuse_csv = kept.get("data") == wanted
        reuse_graph = reuse_csv and kept.get("loaded", False)
        if not reuse_graph and (work / "data").exists():
            shutil.rmtree(work / "data")  # a half-loaded or different graph
        with bench.setup("generate demo CSV" if not reuse_csv else "generate demo CSV (reused)"):
            if not reuse_csv:
                stamp.unlink(missing_ok=True)
                summary = generate_demo(
                    work / "demo", accounts=args.accounts, products=args.products, seed=args.seed, as_of=AS_OF
                )
                bench.note(f"{summary.purchases:,} order lines in {summary.orders:,} orders")
                _write_stamp(stamp, {"data": wanted, "loaded": False})
        server = LocalServer(settings)
        try:
            with bench.setup("start Neo4j"):
                server.start(echo=lambda m: console.print(m, style="dim"))
                bench.note(f"heap {args.heap}, page cache {args.pagecache}")
            with Graph.connect(settings) as graph:
                with bench.setup("load into Neo4j" if not reuse_graph else "load into Neo4j (reused graph)"):
                    if not reuse_graph:
                        graph.write_autocommit("delete_all")
                        init_schema(graph)
                        report = load_directory(graph, work / "demo", progress=bench.load_progress)
                        bench.note(f"{report.new_lines:,} lines, {report.pairs:,} BOUGHT pairs")
                        _write_stamp(stamp, {"data": wanted, "loaded": True})
                stats = graph_stats(graph)
                cpu = CpuShare(server.pid())
                result, interactions = run_pipeline(graph, settings, args, bench)
                shares = cpu.shares()
                if reuse_graph:
                    bench.notes["write-back"] += " (replacing the last run's)"
            server.stop()  # idle or not (checkpoints), it must not share the CPU with the ALS fits
            fit = compare_fits(interactions, result.manifest["params"], args.fit_repeats, bench)
        finally:
            server.stop()

    console.print(render(bench, result, fit, stats, args, shares))
    if args.json:
        figures = {
            "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "setup": bench.setup_rows,
            "stages": result.timings,
            "pipeline_seconds": sum(result.timings.values()),
            "peers": result.manifest.get("peers"),
            "fit": fit,
            "cpu_during_pipeline": shares,
            "graph": stats.as_dict(),
            "machine": machine(),
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


class Bench:
    """Collects setup timings and notes, and prints progress with elapsed seconds."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.perf_counter()
        self.setup_rows: list[dict[str, Any]] = []
        self.notes: dict[str, str] = {}
        self._current = ""
        self._load_stage = ""

    def say(self, message: str) -> None:
        self.console.print(
            f"[{time.perf_counter() - self.started:7.1f}s] {message}", style="dim", highlight=False
        )

    def note(self, text: str) -> None:
        self.notes[self._current] = text

    @contextmanager
    def setup(self, name: str) -> Iterator[None]:
        self._current = name
        self.say(name)
        started = time.perf_counter()
        yield
        self.setup_rows.append(
            {"step": name, "seconds": time.perf_counter() - started, "note": self.notes.get(name, "")}
        )

    def load_progress(self, stage: str, done: int, total: int) -> None:
        if stage != self._load_stage:
            self._load_stage = stage
            self.say(f"  loading {stage}")


def run_pipeline(
    graph: Graph, settings: Settings, args: argparse.Namespace, bench: Bench
) -> tuple[TrainResult, Interactions]:
    """What `crossgraph train` does (cli/train_cmds.py), stage by stage into result.timings;
    also returns the matrix of the final fit (rebuilt outside the timed stages)."""
    config = json.loads(args.params.read_text(encoding="utf-8"))
    params = HybridParams.from_dict(config["model"]) if "model" in config else HybridParams()
    gate = GateConfig(**config.get("gate", {}))
    registry = Registry(settings.model_dir)
    timings: dict[str, float] = {}
    bench.say("pipeline: exporting purchases from the graph")
    with timed(timings, "export"):
        lines = export_order_lines(graph, line_ids=False)  # as `crossgraph train` does
        accounts, products = export_accounts(graph), export_products(graph)
        installed = export_installed(graph)
    bench.notes["export"] = (
        f"{len(lines):,} order lines, {len(accounts):,} accounts, {len(products):,} products, "
        f"{len(installed):,} installed pairs"
    )
    result = train(
        lines,
        accounts,
        products,
        registry,
        params=params,
        test_days=int(config.get("test_days", 120)),
        gate=gate,
        segment_key=str(config.get("segment", "segment")),
        tune_minutes=args.tune_minutes,
        installed=installed,
        progress=lambda m: bench.say(f"  {m}"),
        timings=timings,
    )
    if not result.passed:  # `crossgraph train` would stop here; the benchmark writes back anyway
        bench.say(f"[red]the gate refused {result.version}: {'; '.join(result.reasons)}[/]")
    with timed(timings, "promote"):
        registry.promote(result.version, reason="benchmark")
    wb = config.get("write_back", {})
    bench.say("pipeline: writing back SIMILAR_TO and RECOMMENDED")
    with timed(timings, "write-back"):
        written = write_back(
            graph,
            Artifact.load(registry.get(result.version).path),
            peers=int(wb.get("peers", 10)),
            products=int(wb.get("products", 10)),
        )
    bench.notes["write-back"] = f"{written.similar:,} SIMILAR_TO, {written.recommended:,} RECOMMENDED"
    bench.say(f"pipeline done in {sum(timings.values()):.1f} s")
    return result, build_interactions(lines)


def compare_fits(
    interactions: Interactions, params_dict: dict[str, Any], repeats: int, bench: Bench
) -> dict[str, Any]:
    """Best-of-`repeats` seconds of ALSRecommender.fit and of raw implicit on the same matrix."""
    from implicit.als import AlternatingLeastSquares

    p = ALSParams.from_dict(params_dict["als"])
    user_items = weighted_matrix(interactions, p.weighting)
    seconds: dict[str, list[tuple[float, float]]] = {"ours": [], "raw": []}  # (wall, cpu) per fit
    fitted: dict[str, Any] = {}

    def fit_raw() -> Any:
        with threadpool_limits(1, "blas"):  # as ALSRecommender does
            model = AlternatingLeastSquares(
                factors=p.factors,
                regularization=p.regularization,
                alpha=p.alpha,
                iterations=p.iterations,
                random_state=p.random_state,
                calculate_training_loss=False,
                use_gpu=False,
            )
            model.fit(user_items, show_progress=False)
        return model

    runs = max(repeats, 1)
    for i in range(runs):
        # Alternate which goes first, so neither always meets a warmer (or busier) machine.
        for side in ("raw", "ours") if i % 2 == 0 else ("ours", "raw"):
            bench.say(f"ALS fit comparison {i + 1}/{runs}: {side}")
            wall, cpu = time.perf_counter(), time.process_time()
            fitted[side] = fit_raw() if side == "raw" else ALSRecommender(p).fit(interactions)
            seconds[side].append((time.perf_counter() - wall, time.process_time() - cpu))
    ours_wall, ours_cpu = (min(column) for column in zip(*seconds["ours"], strict=True))
    raw_wall, raw_cpu = (min(column) for column in zip(*seconds["raw"], strict=True))
    diff = float(np.max(np.abs(fitted["ours"].user_factors - np.asarray(fitted["raw"].user_factors))))
    return {
        "matrix": f"{interactions.shape[0]:,} x {interactions.shape[1]:,}, {interactions.nnz:,} pairs",
        "factors": p.factors,
        "iterations": p.iterations,
        "ours_seconds": [w for w, _ in seconds["ours"]],
        "raw_seconds": [w for w, _ in seconds["raw"]],
        "ratio": ours_wall / raw_wall,
        "cpu_ratio": ours_cpu / raw_cpu if raw_cpu > 0 else float("nan"),
        "max_factor_difference": diff,
    }


class CpuShare:
    """Where the machine's CPU time went from creation to shares(): this process, the Neo4j
    server, other processes, the hypervisor (steal) and idle, as fractions of the total. On a
    shared machine this says how much of the wall-clock time the benchmark really had."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.start = self._sample()

    def _sample(self) -> dict[str, float] | None:
        try:
            # cpu user nice system idle iowait irq softirq steal ... (clock ticks, all CPUs)
            v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
            server = 0.0
            if self.server_pid is not None:
                fields = Path(f"/proc/{self.server_pid}/stat").read_text().rsplit(")", 1)[1].split()
                server = float(int(fields[11]) + int(fields[12]))  # utime + stime
        except (OSError, ValueError, IndexError):
            return None
        tick = float(os.sysconf("SC_CLK_TCK"))
        return {
            "busy": (v[0] + v[1] + v[2] + v[5] + v[6]) / tick,
            "idle": (v[3] + v[4]) / tick,
            "steal": v[7] / tick,
            "benchmark": time.process_time(),
            "neo4j": server / tick,
        }

    def shares(self) -> dict[str, float] | None:
        end = self._sample()
        if self.start is None or end is None:
            return None
        d = {k: end[k] - self.start[k] for k in end}
        total = d["busy"] + d["idle"] + d["steal"]
        if total <= 0:
            return None
        others = max(d["busy"] - d["benchmark"] - d["neo4j"], 0.0)
        parts = {
            "benchmark": d["benchmark"],
            "neo4j": d["neo4j"],
            "other processes": others,
            "steal": d["steal"],
            "idle": d["idle"],
        }
        return {name: seconds / total for name, seconds in parts.items()}


def peers_note(peers: dict[str, Any]) -> str:
    """'hnsw (M 32, efSearch 96 calibrated): build 4.1 + calibrate 0.3 + search 3.2 s, recall@20
    0.9990 (bound 0.9985)' from the manifest's `peers` record."""
    if peers.get("method") != "hnsw":
        return f"{peers.get('method', '?')}: search {peers.get('search_seconds', 0):.1f} s (every peer exact)"
    recall = next((v for k, v in peers.items() if k.startswith("recall@")), float("nan"))
    build, calibrate, search = (peers.get(f"{s}_seconds", 0.0) for s in ("build", "calibrate", "search"))
    return (
        f"hnsw (M {peers['params']['hnsw_m']}, efSearch {peers.get('ef_search')} calibrated): build "
        f"{build:.1f} + calibrate {calibrate:.1f} + search {search:.1f} s, recall {recall:.4f} "
        f"(bound {peers.get('recall_lower_bound', 0.0):.4f})"
    )


def render(
    bench: Bench,
    result: TrainResult,
    fit: dict[str, Any],
    stats: Any,
    args: argparse.Namespace,
    shares: dict[str, float] | None,
) -> Table:
    pairs = stats.relationships.get("BOUGHT", 0)
    table = Table(
        title=(
            f"Train benchmark: {args.accounts:,} accounts, {args.products:,} products, "
            f"{pairs:,} BOUGHT pairs ({os.cpu_count()} cores)"
        )
    )
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    table.add_column("target", justify="right")
    table.add_column("notes")
    for row in bench.setup_rows:
        table.add_row(f"setup: {row['step']}", f"{row['seconds']:.1f}", "", "", row["note"], style="dim")
    table.add_section()
    total = sum(result.timings.values())
    for stage, seconds in result.timings.items():
        table.add_row(
            stage, f"{seconds:.1f}", f"{seconds / total:.0%}", "", bench.notes.get(stage, STAGE_NOTES[stage])
        )
        if stage == "artifact":
            peers = result.manifest.get("peers", {})
            table.add_row(
                "  peers",
                f"{sum(peers.get(f'{s}_seconds', 0.0) for s in ('build', 'calibrate', 'search')):.1f}",
                "",
                "",
                peers_note(peers),
                style="dim",
            )
        if stage == "evaluate":
            report = result.report
            models = sum((0.0 if r.shared else r.fit_seconds) + r.recommend_seconds for r in report.results)
            table.add_row(
                "  other (matrices, bootstrap)",
                f"{report.seconds - models:.1f}",
                "",
                "",
                f"{report.train_lines:,} train lines, {report.test_accounts:,} test accounts",
                style="dim",
            )
            for r in report.results:
                # A reference or baseline that is a component of the served model is not refitted.
                fit_text = f"(fit {r.fit_seconds:.1f} shared)" if r.shared else f"fit {r.fit_seconds:.1f} +"
                table.add_row(
                    f"  {r.name}",
                    f"{r.recommend_seconds if r.shared else r.fit_seconds + r.recommend_seconds:.1f}",
                    "",
                    "",
                    f"{r.role}: {fit_text} score {r.recommend_seconds:.1f}; "
                    f"NDCG@10 {r.metrics['ndcg@10']:.4f}",
                    style="dim",
                )
    verdict = "met" if total < PIPELINE_TARGET_S else "MISSED"
    cpu_note = (
        "CPU meanwhile: " + ", ".join(f"{name} {share:.0%}" for name, share in shares.items())
        if shares
        else ""
    )
    table.add_row(
        "pipeline total",
        f"{total:.1f}",
        "100%",
        f"< {PIPELINE_TARGET_S:.0f} ({verdict})",
        cpu_note,
        style="bold",
    )
    table.add_section()
    ratio_verdict = "met" if fit["ratio"] <= FIT_RATIO_TARGET else "MISSED"
    runs = len(fit["ours_seconds"])
    table.add_row(
        "ALS fit: ALSRecommender.fit",
        f"{min(fit['ours_seconds']):.1f}",
        "",
        "",
        f"best of {runs}; {fit['matrix']}, {fit['factors']} factors x {fit['iterations']} it.",
    )
    table.add_row(
        "ALS fit: raw implicit", f"{min(fit['raw_seconds']):.1f}", "", "", "same weighted CSR matrix"
    )
    table.add_row(
        "ALS fit ratio (ours / raw)",
        f"{fit['ratio']:.3f}",
        "",
        f"<= {FIT_RATIO_TARGET} ({ratio_verdict})",
        f"CPU-time ratio {fit['cpu_ratio']:.3f}; max |factor diff| {fit['max_factor_difference']:.2g}",
        style="bold",
    )
    return table


def machine() -> dict[str, Any]:
    from threadpoolctl import threadpool_info

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "blas": [(i["internal_api"], i["num_threads"]) for i in threadpool_info()],
    }


def _read_stamp(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_stamp(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
