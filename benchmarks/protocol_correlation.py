"""Does the tuner's validation predict the test? Rank correlation of validation and test scores.

    .venv/bin/python benchmarks/protocol_correlation.py \
        /work/shared/datasets/online_retail/online_retail.csv.gz --cutoff 2011-09-01 --json corr.json

The protocol measured is the tuner's before issue 11 changed it (3 folds of 99 days every
49.5 days, the grids below), for the record; benchmarks/validation_correlation.py measures
the new one. For each configuration of two of its stages, starting from the served
parameters (--params, default training/params.json):
- blend: every (ease_weight, knn_weight) pair of the search space's blend grid, ALS weight 1;
- ease: the tuner's EASE grid (regularisation x half-life, binary weighting);
the validation score is what the tuner sees (mean NDCG@10 over its rolling folds carved
from before the cutoff: same window and number of folds) and the test score is NDCG@10 on
the time split at the cutoff (as `crossgraph evaluate`). Printed: Spearman's rho and
Kendall's tau between the two per stage, and whether the validation's best is the test's.
The test period is read to measure the protocol only, never to choose anything.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import itertools
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from crossgraph.data.purchase_file import read_purchase_file
from crossgraph.data.split import TimeSplit, time_split, validation_folds
from crossgraph.data.weighting import WeightingConfig
from crossgraph.model.base import top_k
from crossgraph.model.baselines import EASEParams, EASERecommender
from crossgraph.model.evaluate import evaluate_recommender
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.metrics import ranking_metrics
from crossgraph.model.train import default_cutoff
from crossgraph.params import DEFAULT_PARAMS, read_params

# The grids of the tuner before issue 11 (model/tuning.py at d54ee8c).
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
EASE_REGULARIZATION = (100.0, 250.0, 500.0)
EASE_HALF_LIFE_DAYS = (None, 30.0, 60.0, 90.0, 180.0)

Cache = list[tuple[dict[str, np.ndarray], Any, Any, int]]


def blend_cache(params: HybridParams, splits: list[TimeSplit]) -> Cache:
    """Standardised component scores of each split's test accounts (as the tuner caches them)."""
    full = replace(params, als_weight=1.0, ease_weight=1.0, knn_weight=1.0)
    cached = []
    for split in splits:
        model = HybridRecommender(full).fit(split.train)
        accounts = split.test_accounts()
        z = {name: (raw - mean) / std for name, (raw, mean, std) in model.standardised(accounts).items()}
        cached.append((z, model.owned[accounts], split.test.binary[accounts], split.train.shape[1]))
    return cached


def blend_score(cached: Cache, ease_w: float, knn_w: float) -> float:
    scores = []
    for z, owned, relevant, n_items in cached:
        items, _ = top_k((z["als"] + ease_w * z["ease"] + knn_w * z["knn"]).astype(np.float32), 10, owned)
        scores.append(ranking_metrics(items, relevant, ks=(10,), n_items=n_items)["ndcg@10"])
    return float(np.mean(scores))


def correlation(rows: list[dict[str, Any]]) -> dict[str, Any]:
    validation = [r["validation"] for r in rows]
    test = [r["test"] for r in rows]
    best_validation = max(rows, key=lambda r: r["validation"])
    best_test = max(rows, key=lambda r: r["test"])
    return {
        "configurations": len(rows),
        "spearman": round(float(stats.spearmanr(validation, test).statistic), 3),
        "kendall": round(float(stats.kendalltau(validation, test).statistic), 3),
        "validation_pick": best_validation["config"],
        "validation_pick_test": round(best_validation["test"], 4),
        "test_best": best_test["config"],
        "test_best_score": round(best_test["test"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path)
    parser.add_argument("--cutoff")
    parser.add_argument("--test-days", type=int, default=120)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS)
    parser.add_argument("--window-days", type=float, default=99.0, help="as model.tuning.tune")
    parser.add_argument("--folds", type=int, default=3, help="as model.tuning.tune")
    parser.add_argument("--stages", default="blend,ease")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f}s] {message}", file=sys.stderr, flush=True)

    lines = read_purchase_file(args.file).lines
    cutoff = args.cutoff or str(default_cutoff(lines, args.test_days).date())
    config = read_params(args.params)
    params = HybridParams.from_dict(config["model"]) if "model" in config else HybridParams()
    folds = validation_folds(lines, cutoff, args.window_days, args.folds)
    test = time_split(lines, cutoff)
    out: dict[str, Any] = {"file": str(args.file), "cutoff": cutoff, "stages": {}}
    stages = args.stages.split(",")
    if "blend" in stages:
        say("blend: fitting the hybrid on each validation fold and on the test split")
        val_cache, test_cache = blend_cache(params, folds), blend_cache(params, [test])
        rows = [
            {
                "config": {"ease_weight": e, "knn_weight": k},
                "validation": blend_score(val_cache, e, k),
                "test": blend_score(test_cache, e, k),
            }
            for e, k in itertools.product(BLEND_WEIGHTS, BLEND_WEIGHTS)
        ]
        out["stages"]["blend"] = {"summary": correlation(rows), "rows": rows}
        say(f"blend: {out['stages']['blend']['summary']}")
    if "ease" in stages:
        rows = []
        for reg, half_life in itertools.product(EASE_REGULARIZATION, EASE_HALF_LIFE_DAYS):
            weighting = WeightingConfig(scheme="binary", half_life_days=half_life)
            ease = EASEParams(regularization=reg, weighting=weighting)
            say(f"ease: regularisation {reg}, half-life {half_life}")
            validation = [
                evaluate_recommender(EASERecommender(ease).fit(f.train), f, ks=(10,))[0]["ndcg@10"]
                for f in folds
            ]
            score = evaluate_recommender(EASERecommender(ease).fit(test.train), test, ks=(10,))[0]["ndcg@10"]
            config_e = {"regularization": reg, "half_life_days": half_life}
            rows.append({"config": config_e, "validation": float(np.mean(validation)), "test": score})
        out["stages"]["ease"] = {"summary": correlation(rows), "rows": rows}
        say(f"ease: {out['stages']['ease']['summary']}")
    print(
        "| stage | configurations | Spearman rho | Kendall tau | validation's pick -> test | best on test |"
    )
    print("|---|---|---|---|---|---|")
    for stage, result in out["stages"].items():
        s = result["summary"]
        print(
            f"| {stage} | {s['configurations']} | {s['spearman']:+.3f} | {s['kendall']:+.3f} | "
            f"{s['validation_pick']} -> {s['validation_pick_test']:.4f} | "
            f"{s['test_best']} {s['test_best_score']:.4f} |"
        )
    out["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
