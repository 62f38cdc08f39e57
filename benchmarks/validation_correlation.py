"""Does validation predict the test? Rank correlation of validation and test NDCG@10 across configurations.

    nice .venv/bin/python benchmarks/validation_correlation.py --json val_corr.json
    nice .venv/bin/python benchmarks/validation_correlation.py --sample 0.3   # quicker: 30 % of accounts

A fixed, diverse set of configurations (ALS variants, EASE lambdas, item-kNN variants,
RP3beta, popularity, blends) is fitted on the test split (cutoff, default 2011-09-01 on
Online Retail) and on validation windows carved from before the cutoff. For each
validation protocol (window length, fold ends) the script reports Spearman's rho and
Kendall's tau between the configurations' mean validation NDCG@10 and their test NDCG@10.
A protocol whose ranking of configurations matches the test's is one a tuner can trust.
The test scores are only compared, never used to pick anything.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy import stats

from crossgraph.data.online_retail import read_online_retail
from crossgraph.data.orderlines import OrderLines
from crossgraph.data.split import time_split, validation_split
from crossgraph.data.weighting import WeightingConfig
from crossgraph.model.als import ALSParams, ALSRecommender
from crossgraph.model.base import Recommender
from crossgraph.model.baselines import (
    EASEParams,
    EASERecommender,
    ItemKNNParams,
    ItemKNNRecommender,
    PopularityRecommender,
)
from crossgraph.model.evaluate import evaluate_recommender
from crossgraph.model.hybrid import HybridParams, HybridRecommender

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"
)


def configurations() -> dict[str, object]:
    """name -> factory of an unfitted Recommender (fixed, so runs compare)."""
    log90 = WeightingConfig(scheme="log", half_life_days=90.0)
    out: dict[str, object] = {
        "popularity": PopularityRecommender,
        "als_64_reg1_log": lambda: ALSRecommender(ALSParams(factors=64, regularization=1.0)),
        "als_256_reg10_log90": lambda: ALSRecommender(HybridParams().als),
        "als_128_reg0.1_a5_binary": lambda: ALSRecommender(
            ALSParams(factors=128, regularization=0.1, alpha=5.0, weighting=WeightingConfig(scheme="binary"))
        ),
        "als_64_reg30_bm25": lambda: ALSRecommender(
            ALSParams(
                factors=64, regularization=30.0, iterations=10, weighting=WeightingConfig(scheme="bm25")
            )
        ),
        "ease_50": lambda: EASERecommender(EASEParams(regularization=50.0)),
        "ease_250": lambda: EASERecommender(EASEParams(regularization=250.0)),
        "ease_1000": lambda: EASERecommender(EASEParams(regularization=1000.0)),
        "ease_4000": lambda: EASERecommender(EASEParams(regularization=4000.0)),
        "ease_100_hl30": lambda: EASERecommender(HybridParams().ease),
        "knn_20": lambda: ItemKNNRecommender(ItemKNNParams(neighbours=20)),
        "knn_200": lambda: ItemKNNRecommender(ItemKNNParams(neighbours=200)),
        "knn_cos_50": lambda: ItemKNNRecommender(ItemKNNParams(neighbours=50, cosine=True)),
        "blend_shipped": lambda: HybridRecommender(HybridParams()),
        "blend_als_ease": lambda: HybridRecommender(HybridParams(knn_weight=0.0)),
        "blend_als_log90_light": lambda: HybridRecommender(
            HybridParams(als=ALSParams(weighting=log90), ease_weight=0.25, knn_weight=0.0)
        ),
    }
    return out


# Validation protocols: (window days, fold ends in days before the cutoff). None = test length.
PROTOCOLS: dict[str, tuple[float | None, tuple[float, ...]]] = {
    "today: 99-day windows, 3 folds every 49.5 days": (99.0, (0.0, 49.5, 99.0)),
    "1 fold, window = test length": (None, (0.0,)),
    "2 folds 30 days apart, window = test length": (None, (0.0, 30.0)),
    "3 folds 30 days apart, window = test length": (None, (0.0, 30.0, 60.0)),
}


def subsample(lines: OrderLines, share: float, seed: int) -> OrderLines:
    if share >= 1.0:
        return lines
    accounts = np.unique(lines.account_id)
    keep = np.random.default_rng(seed).choice(accounts, size=int(len(accounts) * share), replace=False)
    return lines.select(np.isin(lines.account_id, keep))


def score(factory: object, split: object) -> float:
    model: Recommender = factory()  # type: ignore[operator]
    model.fit(split.train)  # type: ignore[attr-defined]
    metrics, _ = evaluate_recommender(model, split, ks=(10,))  # type: ignore[arg-type]
    return float(metrics["ndcg@10"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cutoff", default="2011-09-01")
    parser.add_argument("--sample", type=float, default=1.0, help="share of accounts kept (development)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    began = time.perf_counter()
    lines = subsample(read_online_retail(args.data).lines, args.sample, 0)
    cut = np.datetime64(args.cutoff, "s")
    last = lines.ordered_at.max().astype("datetime64[s]")
    test_days = float((last - cut) / np.timedelta64(1, "D"))
    print(f"{len(lines):,} lines; cutoff {args.cutoff}; test window {test_days:.1f} days", flush=True)
    configs = configurations()
    test_split = time_split(lines, cut)
    splits: dict[tuple[float, float], object] = {}
    for window, ends in PROTOCOLS.values():
        for end in ends:
            w = test_days if window is None else window
            key = (round(w, 1), end)
            if key not in splits:
                fold_end = cut - np.timedelta64(round(end * 86_400), "s")
                splits[key] = validation_split(lines, fold_end, w)
    scores: dict[str, dict[str, float]] = {}
    for name, factory in configs.items():
        t0 = time.perf_counter()
        row = {"test": score(factory, test_split)}
        for (w, end), split in splits.items():
            row[f"val w{w} e{end}"] = score(factory, split)
        scores[name] = row
        print(f"{name}: test {row['test']:.4f} ({time.perf_counter() - t0:.0f}s)", flush=True)
    names = list(configs)
    test = np.array([scores[n]["test"] for n in names])
    results = {}
    for label, (window, ends) in PROTOCOLS.items():
        w = round(test_days if window is None else window, 1)
        val = np.array([np.mean([scores[n][f"val w{w} e{e}"] for e in ends]) for n in names])
        rho = float(stats.spearmanr(val, test).statistic)
        tau = float(stats.kendalltau(val, test).statistic)
        top_val = names[int(np.argmax(val))]
        results[label] = {
            "spearman": round(rho, 3),
            "kendall": round(tau, 3),
            "picked_by_validation": top_val,
            "its_test_ndcg@10": round(float(scores[top_val]["test"]), 4),
            "best_test_ndcg@10": round(float(test.max()), 4),
        }
        print(
            f"{label}: Spearman {rho:.3f}, Kendall {tau:.3f}; validation picks {top_val} "
            f"(test {scores[top_val]['test']:.4f}, best test {test.max():.4f})",
            flush=True,
        )
    seconds = time.perf_counter() - began
    print(f"{seconds:.0f}s in all; load {os.getloadavg()}")
    if args.json:
        out = {
            "cutoff": args.cutoff,
            "sample": args.sample,
            "test_days": test_days,
            "scores": scores,
            "protocols": results,
            "seconds": round(seconds, 1),
            "load": os.getloadavg(),
        }
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
