"""The quality table for any purchases file: the served model against every baseline, one split.

    .venv/bin/python benchmarks/quality.py /work/shared/datasets/online_retail/online_retail.csv.gz \
        --cutoff 2011-09-01
    .venv/bin/python benchmarks/quality.py --dataset completejourney --json cj.json
    .venv/bin/python benchmarks/quality.py purchases.parquet --accounts accounts.csv --tune-minutes 3

The file may be in any form `crossgraph evaluate --purchases` reads (docs/data-format.md);
--dataset NAME fetches and converts a public set first (benchmarks/datasets.py). The served
model is fitted with the "model" parameters of --params (default training/params.json, the
shipped defaults), or, with --tune-minutes M, with those the tuner finds within M minutes
on validation windows before the cutoff, next to the baselines it tuned in the same search
(model.tuning; docs/tuning.md). Every model is
fitted on the lines before the cutoff (default: 120 days before the last line, as the
nightly job) and scored on the pairs new to each account after it.

Printed: a Markdown table, one row per model: NDCG@10, recall@10, catalogue coverage@10, the
share of suggestions from the top 1 % most popular products, and the paired bootstrap 95 %
interval of the served model's NDCG@10 minus that model's (2,000 resamples of the test
accounts, seed 0; docs/quality.md); then the served model against the best baseline and the
minutes spent tuning. --json writes the same figures with the whole evaluation report, the
tuning result (every trial, the guards) and the load average at the end.
"""

from __future__ import annotations

import os

# implicit parallelises over users itself; EASE raises the BLAS limit for its inverse.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from datasets import DATASETS, DEFAULT_CACHE, prepare

from crossgraph.data.purchase_file import read_purchase_file, read_segments
from crossgraph.model.evaluate import SERVED, EvaluationConfig, EvaluationReport, evaluate_models
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.train import default_cutoff
from crossgraph.model.tuning import FINALISTS, SearchSpace, tune, tuned_config
from crossgraph.params import DEFAULT_PARAMS, read_params
from crossgraph.settings import get_settings


def rows(report: EvaluationReport) -> list[dict[str, Any]]:
    """One entry per model with the table's figures (interval: served minus this model)."""
    out = []
    for r in report.results:
        interval = None if r.role == SERVED else report.interval(r.name)
        out.append(
            {
                "model": r.name,
                "role": r.role,
                "ndcg@10": r.metrics["ndcg@10"],
                "recall@10": r.metrics["recall@10"],
                "coverage@10": r.metrics["coverage@10"],
                "top1_share@10": r.metrics["top1_share@10"],
                "served_minus_model": None if interval is None else interval.to_dict(),
                "fit_seconds": round(r.fit_seconds, 1),
            }
        )
    return out


def markdown(table: list[dict[str, Any]]) -> str:
    lines = [
        "| model | role | NDCG@10 | recall@10 | coverage@10 | top-1 % share "
        "| served - model NDCG@10 [95 % interval] |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table:
        versus = row["served_minus_model"]
        if versus is None:
            interval = ""
        else:
            verdict = "" if versus["distinguishable"] else " not distinguishable"
            interval = f"{versus['difference']:+.4f} [{versus['low']:+.4f}, {versus['high']:+.4f}]{verdict}"
        name = f"**{row['model']}**" if row["role"] == SERVED else row["model"]
        lines.append(
            f"| {name} | {row['role']} | {row['ndcg@10']:.4f} | {row['recall@10']:.4f} | "
            f"{row['coverage@10']:.3f} | {row['top1_share@10']:.3f} | {interval} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path, nargs="?", help="a purchases file in any supported form")
    parser.add_argument("--dataset", choices=sorted(DATASETS), help="a public set (benchmarks/datasets.py)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where --dataset downloads")
    parser.add_argument("--cutoff", help="YYYY-MM-DD (default: --test-days before the last line)")
    parser.add_argument("--test-days", type=int, default=120)
    parser.add_argument(
        "--accounts", type=Path, help="accounts file with id and --segment (segment popularity)"
    )
    parser.add_argument("--segment", default="segment")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameters file (its 'model')")
    parser.add_argument(
        "--tune-minutes", type=float, default=0.0, help="tune first, within this many minutes"
    )
    parser.add_argument(
        "--finalists",
        type=int,
        default=FINALISTS,
        help=f"candidates per stage kept time for on every window (default {FINALISTS}; 0: the scheduler "
        "before, which may judge a stage on the newest window alone; docs/tuning.md)",
    )
    parser.add_argument(
        "--ease-dropout",
        help="comma-separated EDLAE dropouts the tuner tries for the blend's EASE at the tuned lambda "
        "(e.g. 0.1,0.25,0.5; default none: tried, not adopted, docs/tuning.md)",
    )
    parser.add_argument("--json", type=Path, help="write the figures and the full report as JSON")
    args = parser.parse_args()
    if (args.file is None) == (args.dataset is None):
        parser.error("give a purchases file or --dataset NAME (one of them)")

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    path = args.file or prepare(args.dataset, args.cache)
    data = read_purchase_file(path)
    segments = read_segments(args.accounts, args.segment) if args.accounts else data.segments
    # No segment per account (a project CSV alone): no segment popularity row, it would be popularity.
    lines = data.lines
    say(
        f"read {len(lines):,} order lines from {path.name} ({data.format}) "
        f"in {time.perf_counter() - started:.1f}s"
    )
    cutoff = args.cutoff or str(default_cutoff(lines, args.test_days).date())
    config = read_params(args.params)
    served = HybridParams.from_dict(config["model"]) if "model" in config else HybridParams()
    source = f"{args.params}" if "model" in config else "built-in defaults"
    tuning_minutes = 0.0
    tuning: dict[str, Any] | None = None
    dense = get_settings().dense  # EASE capped or left out above CROSSGRAPH_DENSE_MAX_PRODUCTS (model.dense)
    evaluation = EvaluationConfig(served=served, als=served.als, dense=dense)
    if args.tune_minutes:
        began = time.perf_counter()
        # Validation windows as long as the test window, as `crossgraph train` tunes.
        last = lines.ordered_at.max().astype("datetime64[s]")
        window = float((last - np.datetime64(cutoff, "s")) / np.timedelta64(1, "D"))
        dropouts = tuple(float(p) for p in args.ease_dropout.split(",")) if args.ease_dropout else ()
        searched = tune(
            lines,
            cutoff,
            space=SearchSpace(ease_dropout=dropouts) if dropouts else None,
            minutes=args.tune_minutes,
            window_days=window,
            start=served,
            progress=say,
            finalists=args.finalists,
            dense=dense,
        )
        evaluation = replace(tuned_config(searched), dense=dense)
        tuning = searched.to_dict()
        tuning_minutes = (time.perf_counter() - began) / 60
        source = f"tuned here (at most {args.tune_minutes:g} minutes) from {source}"
    report = evaluate_models(lines, cutoff, segments=segments or None, config=evaluation, progress=say)
    table = rows(report)
    best = report.best_baseline()
    versus = report.interval()
    assert versus is not None
    name = args.dataset or path.name
    print(
        f"\n{name}: {len(lines):,} lines, {report.accounts:,} accounts x {report.products:,} products before "
        f"the cutoff {cutoff}; {report.test_accounts:,} test accounts, {report.test_pairs:,} new pairs\n"
    )
    print(markdown(table))
    if report.left_out:
        print("\nleft out: " + ", ".join(f"{name} ({reason})" for name, reason in report.left_out.items()))
    verdict = "distinguishable" if versus.distinguishable else "not distinguishable"
    print(
        f"\nserved vs best baseline {best.name}: {report.lift_text()} NDCG@10, difference "
        f"{versus.difference:+.4f} [{versus.low:+.4f}, {versus.high:+.4f}] ({verdict}); "
        f"tuning {tuning_minutes:.1f} min; served parameters: {source}; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    if args.json:
        out = {
            "data": {"name": name, "file": str(path), "format": data.format, "lines": len(lines)},
            "cutoff": cutoff,
            "served_params_source": source,
            "tuning_minutes": round(tuning_minutes, 2),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "tuning": tuning,
            "table": table,
            "report": report.to_dict(),
            "seconds": round(time.perf_counter() - started, 1),
        }
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        say(f"wrote {args.json}")


if __name__ == "__main__":
    main()
