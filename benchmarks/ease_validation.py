"""Does the tuner's validation rank EASE's settings as the test does? EASE with and without a
30-day half-life over a log grid of lambda, scored on the tuner's validation windows and on
the test split.

    .venv/bin/python benchmarks/ease_validation.py --dataset completejourney
    .venv/bin/python benchmarks/ease_validation.py FILE --cutoff 2011-09-01
    # the tuner's own EASE grid (no decay), with 1,000 sampled validation accounts:
    .venv/bin/python benchmarks/ease_validation.py --dataset instacart \
        --lambdas 30,100,250,300,1000,3000,10000 --half-lives none --sample 1000

Validation: the tuner's 3 windows of the test length, 30 days apart, at most --max-accounts
(default 3,000, the tuner's) sampled test accounts each (model.tuning); test: every test
account of the split at the cutoff (default 120 days before the last line). The lambdas of
one split share its Gram matrix (model.baselines.GramCache). Printed: one row per setting with
the mean validation NDCG@10, each window's, the test NDCG@10, and the Spearman correlation
of the validation and test columns. --sample N also scores each validation fit on a seeded
subsample of N of those accounts per window (the same fits) and prints its Spearman, to check
that a smaller sample does not lower the correlation.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time

import numpy as np
from datasets import validation_windows, window_arguments
from scipy.stats import spearmanr

from crossgraph.data.split import TimeSplit, time_split
from crossgraph.data.weighting import WeightingConfig
from crossgraph.model.base import top_k
from crossgraph.model.baselines import EASEParams, EASERecommender, GramCache
from crossgraph.model.metrics import ranking_metrics


def settings(lambdas: str, half_lives: str) -> list[EASEParams]:
    lives = [None if h == "none" else float(h) for h in half_lives.split(",")]
    return [
        EASEParams(regularization=float(r), weighting=WeightingConfig(scheme="binary", half_life_days=h))
        for h in lives
        for r in lambdas.split(",")
    ]


def score(model: EASERecommender, split: TimeSplit, accounts: np.ndarray) -> float:
    owned = split.train.binary[accounts]
    items, _ = top_k(np.asarray(model.score(accounts), dtype=np.float32), 10, owned)
    metrics = ranking_metrics(items, split.test.binary[accounts], ks=(10,), n_items=split.train.shape[1])
    return float(metrics["ndcg@10"])


def main() -> None:
    parser = window_arguments(__doc__)
    parser.add_argument("--lambdas", default="100,250,1000", help="comma-separated")
    parser.add_argument("--half-lives", default="none,30", help="comma-separated days, or none")
    parser.add_argument("--sample", type=int, help="also score a subsample of this many per window")
    args = parser.parse_args()
    started = time.perf_counter()
    lines, cutoff, windows = validation_windows(args.file, args.dataset, args.cutoff, args.max_accounts)
    rng = np.random.default_rng(1)
    folds = []
    for fold, accounts in windows:
        sample = accounts
        if args.sample and len(accounts) > args.sample:
            sample = np.sort(rng.choice(accounts, size=args.sample, replace=False))
        folds.append((fold, accounts, sample))
    test = time_split(lines, cutoff)
    print("| lambda | half-life | validation | per window | test |\n|---|---|---|---|---|")
    val, sampled, tested = [], [], []
    grams = GramCache(size=len(folds) + 1)
    for params in settings(args.lambdas, args.half_lives):
        per, per_sample = [], []
        for fold, accounts, sample in folds:
            model = EASERecommender(params, grams=grams).fit(fold.train)
            per.append(score(model, fold, accounts))
            per_sample.append(score(model, fold, sample))
        val.append(float(np.mean(per)))
        sampled.append(float(np.mean(per_sample)))
        model = EASERecommender(params, grams=grams).fit(test.train)
        tested.append(score(model, test, test.test_accounts()))
        print(
            f"| {params.regularization:g} | {params.weighting.half_life_days} | {val[-1]:.4f} | "
            f"{' '.join(f'{s:.4f}' for s in per)} | {tested[-1]:.4f} |"
            + (
                f" sample: {sampled[-1]:.4f} ({' '.join(f'{s:.4f}' for s in per_sample)})"
                if args.sample
                else ""
            ),
            flush=True,
        )
    rho = float(spearmanr(val, tested).statistic)
    also = ""
    if args.sample:
        sizes = "/".join(str(len(sample)) for _, _, sample in folds)
        also = f"; with {sizes} sampled accounts {float(spearmanr(sampled, tested).statistic):.3f}"
    print(
        f"\nSpearman(validation, test) {rho:.3f} ({'/'.join(str(len(a)) for _, a, _ in folds)} accounts)"
        f"{also}; {time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
