"""Scale benchmarks: the two training engines side by side (--engines), and peers, every
account's top-k similar accounts, exact vs HNSW (model.peers).

Engines (`--engines`): demo data of --accounts x --products (data.demo, seed 7, as of
2026-06-30; kept in --data DIR and reused by a rerun with the same sizes) as Parquet
(`crossgraph export --parquet`'s layout), then the nightly job's training on it twice, each
engine in a process of its own so peak memory is its own:
- local: data.parquet.read_order_lines, then model.train.train (numpy split, implicit ALS);
- spark: model.spark_train.train_on_spark on local[2] (lines, split, weighting, ALS in Spark).
Stages: read, split, evaluate (served model and baselines on the split; Spark: sampled test
accounts), fit (matrix/pairs, weighting, ALS + blend on all lines), peers (the artifact's
similar accounts), write (the rest of the artifact). Peak memory: the Python process's max RSS
and, for Spark, the JVM's (VmHWM). Parameters: training/params.json's model with ALS
factors = --factors (64 unless given, params.json has 256) and --iterations if given; no
tuning, no current model (no gate refit).

    .venv/bin/python benchmarks/scale.py --engines --accounts 20000 --products 2000 --data /tmp/cg-scale
    .venv/bin/python benchmarks/scale.py --engines --accounts 100000 --products 5000 --data /tmp/cg-scale

Pair table (`--collect`): the driver's Python memory while the final fit's pairs and their
confidences come back from Spark, today's way (sorted and cast compact in Spark, Arrow arrays:
data.spark_lines.collect_pairs) and the way before (toPandas, a lexsort and casts on the driver),
each in a process of its own on the same --engines demo lake:

    .venv/bin/python benchmarks/scale.py --collect --accounts 20000 --products 2000 --data data/scale

Item-kNN (`--knn`): the similarity of the served blend's item-kNN (training/params.json's knn
parameters) on the final fit's pairs of the same --engines demo lake, each way in a process of its
own: `dense` (one products x products matrix, the only way before, still the way up to
CROSSGRAPH_KNN_DENSE_MAX_PRODUCTS), `blocks` (sparse row blocks cut to the top neighbours, the
local engine above it) and `spark` (model.spark_knn on local[2], the Spark engine). Seconds of the
similarity alone, the peak of what it allocated in Python and numpy (tracemalloc; the JVM's peak
RSS for spark), and how many stored similarities differ from `blocks` (ties at the k-th place):

    .venv/bin/python benchmarks/scale.py --knn --accounts 20000 --products 20000 --data data/scale
    .venv/bin/python benchmarks/scale.py --knn --accounts 20000 --products 2000 --data data/scale

Dense components (`--dense`): the local engine's training (as --engines' local run) on the
demo lake with training/params.json's blend plus RP3beta (weight 0.5, so that both dense
products x products components run), each run in a process of its own: once with
CROSSGRAPH_DENSE_MAX_PRODUCTS above the products (EASE fitted in full: the way before; the memory
check refuses a Gram matrix beyond CROSSGRAPH_DENSE_MEMORY_SHARE of free memory, and the run
says so instead of being killed; `--skip-full` leaves this run out), then with the default
threshold or `--dense-max-products N` once per `--dense-ease` mode (CROSSGRAPH_DENSE_EASE,
default both: "cap", EASE fitted on the N best-selling products, and "leave-out"; RP3beta in
sparse blocks). Seconds per stage, peak RSS, NDCG@10 and the manifest's engine.components:

    nice .venv/bin/python benchmarks/scale.py --dense --accounts 20000 --products 30000 --data data/scale
    nice .venv/bin/python benchmarks/scale.py --dense --accounts 20000 --products 15000 \
        --dense-max-products 10000 --data data/scale
    nice .venv/bin/python benchmarks/scale.py --dense --accounts 20000 --products 30000 --skip-full \
        --dense-ease cap --data data/scale

Peers:

    .venv/bin/python benchmarks/scale.py                        # 100k accounts x 64 factors
    .venv/bin/python benchmarks/scale.py --accounts 1000000 --skip-exact  # HNSW on 1M, all searched
    .venv/bin/python benchmarks/scale.py --accounts 1000000 --query-sample 1000  # HNSW on 1M, 1,000 searched
    .venv/bin/python benchmarks/scale.py --accounts 20000       # quick check
    .venv/bin/python benchmarks/scale.py --json out.json

No graph and no fit: account factors are synthetic, drawn like ALS factors of segmented
customers (256 segment centres in factor space, each account its centre plus Gaussian noise
of 0.6 per factor; seed 0). Uniform random factors are the worst case for any ANN index
(no structure to exploit); --noise 10 comes close to it.

Both methods run the artifact step's own code (crossgraph.model.artifact.similar_accounts):
`exact` is the search below peers_ann_min_accounts, `hnsw` the one above it, with the
default settings unless --m / --ef-construction / --ef-search (where calibration starts) /
--ef-search-max / --recall-target are given: efSearch is calibrated (PeerIndex.calibrate) to
the smallest value whose recall's 95 % lower bound on --sample accounts reaches the target, and
the table shows the value chosen and the (efSearch: recall) pairs tried. Recall is the share
of the exact top-k peers that HNSW also returns, on --sample accounts (all of them when the
exact run is there to compare with, see `recall (all)`). Peak memory is the
process's max RSS after each method (ru_maxrss; it only grows).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from crossgraph.model.artifact import similar_accounts
from crossgraph.model.peers import PeerSearch


def synthetic_factors(accounts: int, factors: int, noise: float, seed: int = 0) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(256, factors)).astype(np.float32)
    rows = centres[rng.integers(0, len(centres), accounts)]
    return (rows + noise * rng.normal(size=(accounts, factors))).astype(np.float32)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


STAGES = ("read", "split", "evaluate", "gate", "fit", "peers", "write")


def demo_lake(folder: Path, accounts: int, products: int) -> tuple[Path, Path]:
    """(demo CSV folder, Parquet lake folder) for these sizes, generated once."""
    import pyarrow as pa
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    from crossgraph.data.demo import generate_demo
    from crossgraph.data.parquet import FILE, STRINGS

    demo, lake = folder / f"demo-{accounts}x{products}", folder / f"lake-{accounts}x{products}"
    if not (lake / FILE).exists():
        if not (demo / "purchases.csv").exists():
            generate_demo(demo, accounts=accounts, products=products, seed=7, as_of=date(2026, 6, 30))
        # write_order_lines' columns and types, read by Arrow: the generator writes clean lines, and
        # the row path's per-row checks would hold 7.9M rows (100k accounts) as Python dicts
        types = {name: pa.string() for name in STRINGS}
        types |= {"quantity": pa.float64(), "revenue": pa.float64(), "ordered_at": pa.timestamp("s")}
        table = pv.read_csv(demo / "purchases.csv", convert_options=pv.ConvertOptions(column_types=types))
        lake.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.select(list(types)), lake / FILE)
    return demo, lake


def own_peak_mb() -> float:
    """This process's peak RSS since its exec (VmHWM; ru_maxrss would include the parent's RSS
    at the fork, e.g. the demo generation)."""
    status = Path("/proc/self/status").read_text().splitlines()
    return next((int(x.split()[1]) for x in status if x.startswith("VmHWM")), 0) / 1024


def own_rss_mb() -> float:
    status = Path("/proc/self/status").read_text().splitlines()
    return next((int(x.split()[1]) for x in status if x.startswith("VmRSS")), 0) / 1024


def jvm_peak_mb() -> float:
    """Peak RSS (VmHWM) of the java processes below this one (Spark's driver JVM), 0 without."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    peak, todo = 0.0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if "java" in Path(f"/proc/{pid}/comm").read_text():
            peak += next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmHWM")), 0) / 1024
    return peak


def run_engine(
    engine: str,
    demo: Path,
    lake: Path,
    factors: int | None,
    iterations: int | None,
    dense_max_products: int | None = None,
    rp3_weight: float | None = None,
    dense_memory_share: float | None = None,
    dense_ease: str | None = None,
) -> dict[str, Any]:
    """One engine's training on the lake, in this process: seconds per stage, peaks, NDCG@10.
    `dense_max_products` replaces CROSSGRAPH_DENSE_MAX_PRODUCTS' default, `dense_ease`
    CROSSGRAPH_DENSE_EASE's, `rp3_weight` the blend's."""
    from dataclasses import replace

    from crossgraph.data.parquet import read_order_lines
    from crossgraph.data.tables import ACCOUNTS, PRODUCTS, read_table
    from crossgraph.model.dense import DenseLimit
    from crossgraph.model.hybrid import HybridParams
    from crossgraph.model.registry import Registry
    from crossgraph.model.train import timed, train
    from crossgraph.params import DEFAULT_PARAMS, read_params

    params = HybridParams.from_dict(read_params(DEFAULT_PARAMS)["model"])
    als = replace(
        params.als, factors=factors or params.als.factors, iterations=iterations or params.als.iterations
    )
    params = replace(params, als=als, rp3_weight=params.rp3_weight if rp3_weight is None else rp3_weight)
    dense = DenseLimit(
        max_products=DenseLimit.max_products if dense_max_products is None else dense_max_products,
        memory_share=DenseLimit.memory_share if dense_memory_share is None else dense_memory_share,
        ease=DenseLimit.ease if dense_ease is None else dense_ease,
    )
    accounts = read_table(ACCOUNTS, demo / "accounts.csv").rows
    products = read_table(PRODUCTS, demo / "products.csv").rows
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as models:
        registry = Registry(Path(models))
        if engine == "local":
            with timed(timings, "read"):
                lines = read_order_lines(lake, line_ids=False)  # as `crossgraph train` exports them
            result = train(lines, accounts, products, registry, params=params, timings=timings, dense=dense)
        else:
            from crossgraph.model.spark_als import SparkConfig
            from crossgraph.model.spark_train import train_on_spark

            spark = SparkConfig(master="local[2]", driver_memory="2g", partitions=4)
            result = train_on_spark(
                lake, accounts, products, registry, spark=spark, params=params, timings=timings, dense=dense
            )
    peers = result.manifest["peers"]
    timings["peers"] = float(peers.get("build_seconds", 0.0)) + float(peers.get("search_seconds", 0.0))
    timings["write"] = timings.pop("artifact") - timings["peers"]
    return {
        "engine": engine,
        "seconds": {stage: round(timings.get(stage, 0.0), 1) for stage in STAGES},
        "total": round(sum(timings.values()), 1),
        "ndcg@10": round(result.score, 4),
        "test_accounts": result.report.test_accounts,
        "train_lines": result.report.train_lines,
        "pairs": result.manifest["data"]["pairs"],
        "peak_rss_mb": round(own_peak_mb()),
        "jvm_peak_mb": round(jvm_peak_mb()),
        "engine_record": {k: v for k, v in result.manifest["engine"].items() if k != "evaluation"}
        | {"evaluation": result.manifest["engine"].get("evaluation")},
    }


def pandas_pairs(frame: Any) -> dict[str, np.ndarray[Any, Any]]:
    """The pair collection before Arrow arrays (kept here to compare with): toPandas, a lexsort
    on the driver, every column reordered and cast there."""
    table = frame.toPandas()
    order = np.lexsort((table["product"].to_numpy(), table["account"].to_numpy()))
    out = {name: np.asarray(table[name].to_numpy()[order]) for name in table.columns}
    out["product"] = out["product"].astype(np.intp)
    for name in ("orders", "lines", "quantity", "revenue", "confidence"):
        out[name] = out[name].astype(np.float32)
    return out


def collect_run(lake: Path, method: str) -> dict[str, Any]:
    """The driver's memory for the pair table of the final fit (pairs with their confidences, as
    collect_pairs and the ALS alignment bring them back), in this process: Python's peak RSS
    above its RSS before the collection (VmHWM reset through /proc/self/clear_refs)."""
    from crossgraph.data import spark_lines
    from crossgraph.data.weighting import WeightingConfig
    from crossgraph.model.spark_als import SparkConfig, spark_session

    with spark_session(SparkConfig(master="local[2]", driver_memory="2g", partitions=4)) as session:
        lines = spark_lines.read_lines(session, lake).cache()
        pairs = spark_lines.pairs(lines)
        frame = spark_lines.confidences(pairs, WeightingConfig()).cache()
        count = frame.count()
        Path("/proc/self/clear_refs").write_text("5")
        before = own_rss_mb()
        started = time.perf_counter()
        if method == "arrow":
            interactions, confidence = spark_lines.collect_pairs(frame, pairs.accounts, pairs.products)
            assert confidence is not None and interactions.nnz == count
        else:
            assert len(pandas_pairs(frame)["account"]) == count
        seconds = time.perf_counter() - started
        peak = own_peak_mb()
    return {
        "method": method,
        "pairs": count,
        "seconds": round(seconds, 1),
        "rss_before_mb": round(before),
        "peak_above_mb": round(peak - before),
        "bytes_per_pair": round((peak - before) * 2**20 / max(1, count)),
    }


def traced(work: Callable[[], Any]) -> tuple[float, float]:
    """Seconds of `work` and the peak MB it allocated through Python and numpy (tracemalloc: a
    freed line table's pages still in the RSS would hide the peak from VmHWM)."""
    import tracemalloc

    tracemalloc.start()
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak


def knn_run(lake: Path, method: str, out: Path) -> dict[str, Any]:
    """Item-kNN's similarity on all of the lake's pairs, in this process, one `method`; the
    similarity saved to `out` (npz) for the parent to compare."""
    import scipy.sparse as sp

    from crossgraph.model.baselines import ItemKNNRecommender
    from crossgraph.model.hybrid import HybridParams
    from crossgraph.params import DEFAULT_PARAMS, read_params

    params = HybridParams.from_dict(read_params(DEFAULT_PARAMS)["model"]).knn
    jvm = 0.0
    if method == "spark":
        from crossgraph.data import spark_lines
        from crossgraph.model.spark_als import SparkConfig, spark_session
        from crossgraph.model.spark_knn import SparkItemKNNRecommender

        with spark_session(SparkConfig(master="local[2]", driver_memory="2g", partitions=4)) as session:
            pairs = spark_lines.pairs(spark_lines.read_lines(session, lake))
            interactions, _ = spark_lines.collect_pairs(pairs.frame, pairs.accounts, pairs.products)
            model: ItemKNNRecommender = SparkItemKNNRecommender(params, pairs=pairs, dense_max_products=0)
            seconds, peak = traced(lambda: model.fit(interactions))
            jvm = jvm_peak_mb()
    else:
        from crossgraph.data.matrix import build_interactions
        from crossgraph.data.parquet import read_order_lines

        interactions = build_interactions(read_order_lines(lake))
        threshold = 0 if method == "blocks" else interactions.shape[1]
        model = ItemKNNRecommender(params, dense_max_products=threshold)
        seconds, peak = traced(lambda: model.fit(interactions))
    sp.save_npz(out, model.similarity)
    return {
        "method": model.method,
        "products": interactions.shape[1],
        "pairs": interactions.nnz,
        "neighbours": params.neighbours,
        "similarities": model.similarity.nnz,
        "seconds": round(seconds, 1),
        "peak_mb": round(peak),
        "peak_rss_mb": round(own_peak_mb()),
        "jvm_peak_mb": round(jvm),
        "load": round(os.getloadavg()[0], 1),
    }


def knn(args: argparse.Namespace) -> None:
    """The item-kNN similarity each way, each in a child process of its own; one table."""
    import scipy.sparse as sp

    demo_lake(args.data, args.accounts, args.products)  # generated here, once for all
    load = os.getloadavg()[0]
    methods = ("blocks", "spark") if args.skip_dense else ("dense", "blocks", "spark")
    runs, found = [], {}
    with tempfile.TemporaryDirectory() as folder:
        for method in methods:
            out = Path(folder) / f"{method}.npz"
            runs.append(child_run(args, "--knn-run", method, "--knn-out", str(out)))
            found[method] = sp.load_npz(out)
    for run, method in zip(runs, methods, strict=True):
        run["differ_from_blocks"] = int((found[method] != found["blocks"]).nnz)
        gap = abs(found[method] - found["blocks"])
        run["max_difference"] = float(gap.max()) if gap.nnz else 0.0
    first = runs[0]
    table = Table(
        title=f"item-kNN similarity (top {first['neighbours']} per product), {args.accounts:,} x "
        f"{args.products:,} demo data: {first['products']:,} products, {first['pairs']:,} pairs; "
        f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    columns = ("how", "seconds", "allocated peak MB", "JVM peak MB", "similarities", "differ")
    for column in columns:
        table.add_column(column, justify="left" if column == "how" else "right")
    for run in runs:
        table.add_row(
            run["method"],
            f"{run['seconds']:.1f}",
            f"{run['peak_mb']:,}",
            f"{run['jvm_peak_mb']:,}" if run["jvm_peak_mb"] else "",
            f"{run['similarities']:,}",
            f"{run['differ_from_blocks']:,} (max {run['max_difference']:.2g})",
        )
    Console().print(table)
    save_runs(args, runs)


def peer_search(args: argparse.Namespace, ann_min_accounts: int) -> PeerSearch:
    return PeerSearch(
        ann_min_accounts=ann_min_accounts,
        hnsw_m=args.m,
        ef_construction=args.ef_construction,
        ef_search=args.ef_search,
        recall_sample=args.sample,
        recall_target=args.recall_target,
        ef_search_max=args.ef_search_max,
    )


def sampled_peers(args: argparse.Namespace) -> None:
    """Peers where searching every account exactly takes hours (1M accounts): the HNSW index
    built over all accounts (timed), its efSearch calibrated on --sample accounts (timed, as the
    artifact step does), then HNSW and exact search of --query-sample other random accounts only
    (timed, and extrapolated linearly to every account), and recall@k on that second sample."""
    from crossgraph.model.peers import PeerIndex, account_recalls, recall_bound

    factors = synthetic_factors(args.accounts, args.factors, args.noise)
    config = peer_search(args, 1)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    index = PeerIndex.build(factors, config)
    build = time.perf_counter() - started
    print(f"built in {build:.1f} s (load {load:.1f} -> {os.getloadavg()[0]:.1f})", flush=True)
    calibration = index.calibrate(args.k, config)
    assert calibration is not None
    calibrate = calibration.seconds
    print(
        f"calibrated in {calibrate:.1f} s: efSearch {calibration.ef_search}, tried {calibration.tried}",
        flush=True,
    )
    rows = np.sort(np.random.default_rng(1).choice(args.accounts, args.query_sample, replace=False))
    started = time.perf_counter()
    found, _ = index.search_accounts(rows, args.k)
    hnsw = time.perf_counter() - started
    started = time.perf_counter()
    # blocks of 128 queries: 1,000 x 1M similarities at once would be 4 GB
    truth, _ = PeerIndex(index.unit).search(index.unit[rows], args.k, exclude=rows, batch=128)
    exact = time.perf_counter() - started
    recall, lower = recall_bound(account_recalls(found, truth))
    scale = args.accounts / args.query_sample
    run = {
        "accounts": args.accounts,
        "query_sample": args.query_sample,
        "build_seconds": round(build, 1),
        "calibrate_seconds": round(calibrate, 1),
        "ef_search": calibration.ef_search,
        "ef_search_tried": calibration.tried,
        f"calibration_recall@{args.k}": round(calibration.recall, 4),
        "calibration_lower_bound": round(calibration.lower_bound, 4),
        "target_met": calibration.met,
        "hnsw_search_seconds": round(hnsw, 1),
        "hnsw_search_all_seconds_extrapolated": round(hnsw * scale),
        "exact_search_seconds": round(exact, 1),
        "exact_search_all_seconds_extrapolated": round(exact * scale),
        f"recall@{args.k}": round(recall, 4),
        "recall_lower_bound": round(lower, 4),
        "peak_rss_mb": round(peak_mb()),
        "load": [round(load, 1), round(os.getloadavg()[0], 1)],
    }
    Console().print(run)
    if args.json:
        args.json.write_text(json.dumps(run, indent=2))


def child_run(args: argparse.Namespace, *options: str) -> dict[str, Any]:
    """This script run again in a child process of its own (its peak memory its own) with
    `options` and the sizes and lake of `args`; what it wrote as JSON."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, __file__, *options, "--data", str(args.data)]
        command += ["--accounts", str(args.accounts), "--products", str(args.products), "--json", out.name]
        subprocess.run(command, check=True)
        result: dict[str, Any] = json.loads(Path(out.name).read_text())
        return result


def collect(args: argparse.Namespace) -> None:
    """Both pair collections on the same lake, each in a child process of its own."""
    demo_lake(args.data, args.accounts, args.products)  # generated here, once for both
    runs = [child_run(args, "--collect-run", method) for method in ("pandas", "arrow")]
    table = Table(
        title=f"the pair table back to the driver, {args.accounts:,} x {args.products:,} demo data "
        f"({runs[0]['pairs']:,} pairs with their confidences)"
    )
    for column in ("method", "seconds", "Python RSS before MB", "peak above it MB", "bytes per pair"):
        table.add_column(column, justify="left" if column == "method" else "right")
    names = {"pandas": "toPandas + lexsort (before)", "arrow": "sorted in Spark, Arrow arrays (now)"}
    for run in runs:
        table.add_row(
            names[run["method"]],
            f"{run['seconds']:.1f}",
            f"{run['rss_before_mb']:,}",
            f"{run['peak_above_mb']:,}",
            f"{run['bytes_per_pair']:,}",
        )
    Console().print(table)
    save_runs(args, runs)


def save_runs(args: argparse.Namespace, runs: list[dict[str, Any]]) -> None:
    """--json: the command's arguments (as text) and its runs, for --knn, --collect and --engines."""
    if args.json:
        args.json.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs}, indent=2)
        )


def engines(args: argparse.Namespace) -> None:
    """Both engines on the same data, each in a child process; one table."""
    demo_lake(args.data, args.accounts, args.products)  # generated here, once for both
    load = os.getloadavg()[0]
    sizes = [f"--{k}={v}" for k, v in (("factors", args.factors), ("iterations", args.iterations)) if v]
    runs = [child_run(args, "--engine-run", engine, *sizes) for engine in ("local", "spark")]
    first = runs[0]
    table = Table(
        title=f"training engines, {args.accounts:,} x {args.products:,} demo data: {first['train_lines']:,} "
        f"train lines, {first['pairs']:,} bought pairs; load average {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    table.add_column("stage")
    for run in runs:
        table.add_column(f"{run['engine']} s", justify="right")
    for stage in STAGES:
        table.add_row(stage, *(f"{run['seconds'][stage]:.1f}" for run in runs))
    table.add_section()
    table.add_row("total", *(f"{run['total']:.1f}" for run in runs))
    table.add_row(
        "peak RSS MB (python + JVM)", *(f"{run['peak_rss_mb']:,} + {run['jvm_peak_mb']:,}" for run in runs)
    )
    table.add_row("NDCG@10 (served)", *(f"{run['ndcg@10']:.4f}" for run in runs))
    table.add_row("test accounts ranked", *(f"{run['test_accounts']:,}" for run in runs))
    Console().print(table)
    save_runs(args, runs)


def dense_runs(args: argparse.Namespace) -> None:
    """The local engine with EASE attempted in full (threshold above the products) and with the
    default threshold (or --dense-max-products) once per --dense-ease mode, each in a child
    process; a run the memory check refuses reports its message."""
    demo_lake(args.data, args.accounts, args.products)  # generated here, once for all
    sizes = [f"--{k}={v}" for k, v in (("factors", args.factors), ("iterations", args.iterations)) if v]
    runs = []
    second = (
        "default threshold" if args.dense_max_products is None else f"threshold {args.dense_max_products:,}"
    )
    plan: list[tuple[str, int | None, str]] = (
        [] if args.skip_full else [("EASE full", 10 * args.products, "cap")]
    )
    plan += [(f"{second}, EASE {mode}", args.dense_max_products, mode) for mode in args.dense_ease.split(",")]
    for label, threshold, mode in plan:
        share = "0.5" if args.dense_memory_share is None else str(args.dense_memory_share)
        options = ["--engine-run", "local", "--rp3-weight", "0.5", "--dense-memory-share", share, *sizes]
        options += ["--dense-ease", mode]
        if threshold is not None:
            options += ["--dense-max-products", str(threshold)]
        load = os.getloadavg()[0]
        started = time.perf_counter()
        try:
            run = child_run(args, *options)
        except subprocess.CalledProcessError as failed:  # killed (OOM) or crashed: no JSON written
            run = {"failed": f"exit code {failed.returncode}"}
        run.update(
            label=label,
            wall_seconds=round(time.perf_counter() - started, 1),
            load=f"{load:.1f} -> {os.getloadavg()[0]:.1f}",
        )
        runs.append(run)
    table = Table(title=f"dense components, local engine, {args.accounts:,} x {args.products:,} demo data")
    table.add_column("stage")
    for run in runs:
        table.add_column(run["label"], justify="right")
    for stage in STAGES:
        table.add_row(stage, *(f"{run['seconds'][stage]:.1f}" if "seconds" in run else "" for run in runs))
    table.add_section()
    table.add_row("wall s (child process)", *(f"{run['wall_seconds']:.1f}" for run in runs))
    table.add_row("peak RSS MB", *(f"{run['peak_rss_mb']:,}" if "peak_rss_mb" in run else "" for run in runs))
    table.add_row("NDCG@10 (served)", *(f"{run['ndcg@10']:.4f}" if "ndcg@10" in run else "" for run in runs))
    table.add_row("load average", *(run["load"] for run in runs))
    table.add_row("outcome", *("refused" if "failed" in run else "trained" for run in runs))
    Console().print(table)
    for run in runs:
        if "failed" in run:
            Console().print(f"{run['label']}: {run['failed']}", highlight=False)
        record = run.get("engine_record", {}).get("components")
        if record:
            Console().print(f"{run['label']}: engine.components = {json.dumps(record)}", highlight=False)
    save_runs(args, runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", action="store_true", help="compare the training engines (see above)")
    parser.add_argument("--engine-run", choices=("local", "spark"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--collect", action="store_true", help="the driver's memory for the pair table (see above)"
    )
    parser.add_argument("--collect-run", choices=("pandas", "arrow"), help=argparse.SUPPRESS)
    parser.add_argument("--products", type=int, default=5_000, help="--engines: demo products")
    parser.add_argument(
        "--data", type=Path, default=Path("data/scale"), help="--engines: demo data and Parquet"
    )
    parser.add_argument("--iterations", type=int, help="--engines: ALS iterations (default params.json's)")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--noise", type=float, default=0.6)
    parser.add_argument("--sample", type=int, default=PeerSearch.recall_sample)
    parser.add_argument("--m", type=int, default=PeerSearch.hnsw_m)
    parser.add_argument("--ef-construction", type=int, default=PeerSearch.ef_construction)
    parser.add_argument(
        "--ef-search", type=int, default=PeerSearch.ef_search, help="where calibration starts"
    )
    parser.add_argument("--ef-search-max", type=int, default=PeerSearch.ef_search_max)
    parser.add_argument("--recall-target", type=float, default=PeerSearch.recall_target)
    parser.add_argument("--skip-exact", action="store_true", help="HNSW only (exact grows with accounts^2)")
    parser.add_argument(
        "--query-sample", type=int, help="peers: search only this many accounts, both ways, and extrapolate"
    )
    parser.add_argument("--knn", action="store_true", help="item-kNN's similarity each way (see above)")
    parser.add_argument("--knn-run", choices=("dense", "blocks", "spark"), help=argparse.SUPPRESS)
    parser.add_argument("--knn-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--skip-dense", action="store_true", help="--knn: leave out the dense way")
    parser.add_argument("--dense", action="store_true", help="EASE and RP3beta at scale (see above)")
    parser.add_argument(
        "--dense-max-products", type=int, help="--dense: the second run's threshold (default: the setting's)"
    )
    parser.add_argument(
        "--dense-ease",
        default="cap,leave-out",
        help="--dense: CROSSGRAPH_DENSE_EASE mode(s) of the runs at the threshold, comma-separated",
    )
    parser.add_argument("--skip-full", action="store_true", help="--dense: no run with EASE in full")
    parser.add_argument("--rp3-weight", type=float, help=argparse.SUPPRESS)
    parser.add_argument(
        "--dense-memory-share",
        type=float,
        help="--dense: CROSSGRAPH_DENSE_MEMORY_SHARE of the runs (default 0.5)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.knn_run:
        _, lake = demo_lake(args.data, args.accounts, args.products)
        args.json.write_text(json.dumps(knn_run(lake, args.knn_run, args.knn_out), indent=2))
        return
    if args.knn:
        knn(args)
        return
    if args.engine_run:
        demo, lake = demo_lake(args.data, args.accounts, args.products)
        from crossgraph.errors import InvalidInput

        try:
            run = run_engine(
                args.engine_run,
                demo,
                lake,
                args.factors,
                args.iterations,
                args.dense_max_products,
                args.rp3_weight,
                args.dense_memory_share,
                args.dense_ease if "," not in args.dense_ease else None,
            )
        except InvalidInput as refused:  # the memory check's refusal, named in the table
            run = {"failed": str(refused), "peak_rss_mb": round(own_peak_mb())}
        args.json.write_text(json.dumps(run, indent=2))
        return
    if args.engines:
        engines(args)
        return
    if args.dense:
        dense_runs(args)
        return
    if args.collect_run:
        _, lake = demo_lake(args.data, args.accounts, args.products)
        args.json.write_text(json.dumps(collect_run(lake, args.collect_run), indent=2))
        return
    if args.collect:
        collect(args)
        return

    if args.query_sample:
        sampled_peers(args)
        return
    factors = synthetic_factors(args.accounts, args.factors, args.noise)
    runs: dict[str, dict[str, Any]] = {}
    found: dict[str, np.ndarray[Any, Any]] = {}
    methods = [("hnsw", 1)] if args.skip_exact else [("exact", args.accounts + 1), ("hnsw", 1)]
    for name, threshold in methods:
        config = peer_search(args, threshold)
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            peers, _, record = similar_accounts(Path(folder), factors, args.k, config)
            record["seconds"] = round(time.perf_counter() - started, 2)
        record["peak_rss_mb"] = round(peak_mb())
        runs[name] = record
        found[name] = peers
    if "exact" in found:
        exact, approximate = found["exact"], found["hnsw"]
        hits = sum(int(np.isin(e[e >= 0], a).sum()) for e, a in zip(exact, approximate, strict=True))
        runs["hnsw"]["recall_all"] = round(hits / max(1, int((exact >= 0).sum())), 4)

    table = Table(title=f"top-{args.k} similar accounts, {args.accounts:,} accounts x {args.factors} factors")
    for column in (
        "method",
        "build s",
        "calibrate s",
        "efSearch (tried: recall)",
        "search s",
        "total s",
        f"recall@{args.k} (sample)",
        "95 % lower bound",
        "recall (all)",
        "peak RSS MB",
    ):
        table.add_column(column, justify="left" if column == "method" else "right")
    for name, r in runs.items():
        table.add_row(
            name,
            f"{r['build_seconds']:.1f}",
            f"{r['calibrate_seconds']:.1f}" if "calibrate_seconds" in r else "",
            (
                f"{r['ef_search']} ({', '.join(f'{ef}: {rec:.3f}' for ef, rec in r['ef_search_tried'])})"
                if "ef_search" in r
                else ""
            ),
            f"{r['search_seconds']:.1f}",
            f"{r['seconds']:.1f}",
            f"{r[f'recall@{args.k}']:.4f} ({r['recall_sample']:,})" if r["recall_sample"] else "exact",
            f"{r['recall_lower_bound']:.4f}" if "recall_lower_bound" in r else "",
            f"{r['recall_all']:.4f}" if "recall_all" in r else "",
            f"{r['peak_rss_mb']:,}",
        )
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args), "runs": runs}, indent=2, default=str))


if __name__ == "__main__":
    main()
