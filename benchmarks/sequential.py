"""What the "bought next" component does: does the tuner weight it, and what it changes on the test.

    nice .venv/bin/python benchmarks/sequential.py /work/shared/datasets/online_retail/online_retail.csv.gz \
        --cutoff 2011-09-01 --tune-minutes 3
    nice .venv/bin/python benchmarks/sequential.py --dataset completejourney --tune-minutes 3 --json cj.json

One tuning run (model.tuning, `--tune-minutes`, on validation windows before the cutoff only,
as `benchmarks/quality.py --tune-minutes` runs it), then on the test period: the tuned blend,
the same blend with bought next switched (weight 0 if the tuner gave it weight, else a quarter
of the blend: what adding it would have done; shown, never used to pick anything), bought next
alone, and the tuned baselines, each with NDCG@10 and the paired bootstrap 95 % interval of the
tuned blend minus it (model.bootstrap). Printed: the tuner's bought-next trials and weights,
then a Markdown table.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import copy
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from datasets import DATASETS, DEFAULT_CACHE, prepare

from crossgraph.data.purchase_file import read_purchase_file
from crossgraph.data.split import time_split
from crossgraph.model.base import Recommender
from crossgraph.model.baselines import EASERecommender, ItemKNNRecommender, PopularityRecommender
from crossgraph.model.bootstrap import paired_bootstrap
from crossgraph.model.evaluate import score_recommender
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.sequential import SequentialRecommender
from crossgraph.model.train import default_cutoff
from crossgraph.model.tuning import COMPONENTS, tune
from crossgraph.params import DEFAULT_PARAMS, read_params


def switched(served: HybridRecommender, split_train: Any) -> tuple[str, HybridRecommender]:
    """The served blend with bought next switched: off if weighted, else at a quarter of the blend.
    Shares the served model's fitted components (no refit of ALS or EASE)."""
    variant = copy.copy(served)
    p = served.params
    if p.seq_weight > 0:
        variant.params = replace(p, seq_weight=0.0)
        variant.seq = None
        return "tuned blend without bought next", variant
    total = p.als_weight + p.ease_weight + p.knn_weight + p.rp3_weight
    variant.params = replace(p, seq_weight=total / 3)  # a quarter of the new total
    variant.seq = SequentialRecommender(p.seq).fit(split_train)
    return "tuned blend + bought next at 1/4", variant


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path, nargs="?")
    parser.add_argument("--dataset", choices=sorted(DATASETS))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--cutoff", help="YYYY-MM-DD (default: --test-days before the last line)")
    parser.add_argument("--test-days", type=int, default=120)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS)
    parser.add_argument("--tune-minutes", type=float, default=3.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if (args.file is None) == (args.dataset is None):
        parser.error("give a purchases file or --dataset NAME (one of them)")

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    path = args.file or prepare(args.dataset, args.cache)
    lines = read_purchase_file(path).lines
    cutoff = args.cutoff or str(default_cutoff(lines, args.test_days).date())
    config = read_params(args.params)
    start = HybridParams.from_dict(config["model"]) if "model" in config else HybridParams()
    last = lines.ordered_at.max().astype("datetime64[s]")
    window = float((last - np.datetime64(cutoff, "s")) / np.timedelta64(1, "D"))
    began = time.perf_counter()
    result = tune(
        lines,
        cutoff,
        minutes=args.tune_minutes,
        window_days=window,
        start=start,
        progress=say,
        components=COMPONENTS,  # bought next is opt-in; this benchmark measures it
    )
    tuning_seconds = time.perf_counter() - began
    seq_trials = sorted((t for t in result.trials if t.stage == "seq"), key=lambda t: -t.score)
    best = result.best

    split = time_split(lines, cutoff)
    served = HybridRecommender(best).fit(split.train)
    label, variant = switched(served, split.train)
    alone = SequentialRecommender(best.seq).fit(split.train)
    models: list[tuple[str, Recommender]] = [
        ("tuned blend (served)", served),
        (label, variant),
        ("bought next alone", alone),
        ("popularity (tuned)", PopularityRecommender(result.baselines.popularity_days).fit(split.train)),
        ("item-kNN (tuned)", ItemKNNRecommender(result.baselines.knn).fit(split.train)),
        ("EASE (tuned)", EASERecommender(result.baselines.ease).fit(split.train)),
    ]
    scored = {name: score_recommender(model, split, (10,)) for name, model in models}
    ours = scored["tuned blend (served)"].per_account
    table = []
    for name, s in scored.items():
        interval = None if name.startswith("tuned blend (") else paired_bootstrap(ours, s.per_account)
        table.append(
            {
                "model": name,
                "ndcg@10": s.metrics["ndcg@10"],
                "recall@10": s.metrics["recall@10"],
                "coverage@10": s.metrics["coverage@10"],
                "served_minus_model": None if interval is None else interval.to_dict(),
            }
        )
    baselines = [r for r in table if "(tuned)" in r["model"]]
    best_baseline = max(baselines, key=lambda r: r["ndcg@10"])

    name = args.dataset or path.name
    print(
        f"\n{name}: cutoff {cutoff}, {len(split.test_accounts()):,} test accounts, {split.test.nnz:,} new "
        f"pairs; tuning {tuning_seconds:.0f} s of {args.tune_minutes:g} min "
        f"({'complete' if result.complete else 'cut short'})"
    )
    print(
        f"tuner: blend weights {json.dumps({k: round(v, 3) for k, v in best.blend.items()})}; "
        f"bought next {len(seq_trials)} candidates, best {best.seq.to_dict()} "
        f"validation {result.best_score('seq'):.4f}; "
        f"best blend on validation {result.best_score('blend'):.4f}"
    )
    for t in seq_trials:
        print(f"  seq {t.params} -> {t.score:.4f} over {len(t.fold_scores)} windows")
    print("\n| model | NDCG@10 | recall@10 | coverage@10 | served - model NDCG@10 [95 % interval] |")
    print("|---|---|---|---|---|")
    for r in table:
        v = r["served_minus_model"]
        text = "" if v is None else f"{v['difference']:+.4f} [{v['low']:+.4f}, {v['high']:+.4f}]"
        print(
            f"| {r['model']} | {r['ndcg@10']:.4f} | {r['recall@10']:.4f} | {r['coverage@10']:.3f} | {text} |"
        )
    lift = table[0]["ndcg@10"] / best_baseline["ndcg@10"] - 1
    print(
        f"\nserved vs best tuned baseline {best_baseline['model']}: {lift:+.1%}; "
        f"{time.perf_counter() - started:.0f} s"
    )
    if args.json:
        out = {
            "data": name,
            "cutoff": cutoff,
            "tuning": result.to_dict(),
            "tuning_seconds": round(tuning_seconds, 1),
            "table": table,
        }
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
