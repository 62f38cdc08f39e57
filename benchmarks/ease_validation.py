"""Does the tuner's validation rank EASE's settings as the test does? EASE with and without the
shipped 30-day half-life over a log grid of lambda, scored on the tuner's validation windows
and on the test split.

    .venv/bin/python benchmarks/ease_validation.py --dataset completejourney
    .venv/bin/python benchmarks/ease_validation.py FILE --cutoff 2011-09-01

Validation: the tuner's 3 windows of the test length, 30 days apart, at most 3,000 sampled
test accounts each (model.tuning); test: every test account of the split at the cutoff
(default 120 days before the last line). Printed: one row per setting with the mean
validation NDCG@10, each window's, the test NDCG@10, and the Spearman correlation of the
validation and test columns.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time
from pathlib import Path

import numpy as np
from datasets import DATASETS, DEFAULT_CACHE, prepare
from scipy.stats import spearmanr

from crossgraph.data.purchase_file import read_purchase_file
from crossgraph.data.split import TimeSplit, time_split, validation_folds
from crossgraph.data.weighting import WeightingConfig
from crossgraph.model.base import top_k
from crossgraph.model.baselines import EASEParams, EASERecommender
from crossgraph.model.metrics import ranking_metrics
from crossgraph.model.train import default_cutoff

SETTINGS = [
    EASEParams(regularization=r, weighting=WeightingConfig(scheme="binary", half_life_days=h))
    for h in (None, 30.0)
    for r in (100.0, 250.0, 1000.0)
]


def score(params: EASEParams, split: TimeSplit, accounts: np.ndarray) -> float:
    model = EASERecommender(params).fit(split.train)
    owned = split.train.binary[accounts]
    items, _ = top_k(np.asarray(model.score(accounts), dtype=np.float32), 10, owned)
    metrics = ranking_metrics(items, split.test.binary[accounts], ks=(10,), n_items=split.train.shape[1])
    return float(metrics["ndcg@10"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path, nargs="?")
    parser.add_argument("--dataset", choices=sorted(DATASETS))
    parser.add_argument("--cutoff")
    args = parser.parse_args()
    started = time.perf_counter()
    lines = read_purchase_file(args.file or prepare(args.dataset, DEFAULT_CACHE)).lines
    cutoff = args.cutoff or str(default_cutoff(lines, 120).date())
    last = lines.ordered_at.max().astype("datetime64[s]")
    window = float((last - np.datetime64(cutoff, "s")) / np.timedelta64(1, "D"))
    rng = np.random.default_rng(0)
    folds = []
    for fold in validation_folds(lines, cutoff, window, 3, stride_days=30.0):
        accounts = fold.test_accounts()
        if len(accounts) > 3000:
            accounts = np.sort(rng.choice(accounts, size=3000, replace=False))
        folds.append((fold, accounts))
    test = time_split(lines, cutoff)
    print("| lambda | half-life | validation | per window | test |\n|---|---|---|---|---|")
    val, tested = [], []
    for params in SETTINGS:
        per = [score(params, fold, accounts) for fold, accounts in folds]
        val.append(float(np.mean(per)))
        tested.append(score(params, test, test.test_accounts()))
        print(
            f"| {params.regularization:g} | {params.weighting.half_life_days} | {val[-1]:.4f} | "
            f"{' '.join(f'{s:.4f}' for s in per)} | {tested[-1]:.4f} |",
            flush=True,
        )
    rho = float(spearmanr(val, tested).statistic)
    print(
        f"\nSpearman(validation, test) {rho:.3f}; "
        f"{time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
