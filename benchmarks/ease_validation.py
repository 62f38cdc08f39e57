"""Does the tuner's validation rank EASE's settings as the test does? EASE with and without a
30-day half-life over a log grid of lambda, optionally with DAN's normalisation (account exponent
beta x product exponent gamma, model.baselines.EASEParams), scored on the tuner's validation
windows and on the test split.

    .venv/bin/python benchmarks/ease_validation.py --dataset completejourney
    .venv/bin/python benchmarks/ease_validation.py FILE --cutoff 2011-09-01
    # the tuner's own EASE grid (no decay), with 1,000 sampled validation accounts:
    .venv/bin/python benchmarks/ease_validation.py --dataset instacart \
        --lambdas 30,100,250,300,1000,3000,10000 --half-lives none --sample 1000
    # DAN: which beta x gamma do the windows prefer, and does the test agree? (sixth pass of issue 11)
    .venv/bin/python benchmarks/ease_validation.py FILE --cutoff 2011-09-01 --half-lives none \
        --lambdas 100,300,1000,3000 --user-exponents 0,0.25,0.5 --popularity-exponents 0,0.1,0.2,0.3

Validation: the tuner's 3 windows of the test length, 30 days apart, at most --max-accounts
(default 3,000, the tuner's) sampled test accounts each (model.tuning); test: every test
account of the split at the cutoff (default 120 days before the last line). The lambdas of
one split share its Gram matrix (model.baselines.GramCache). Printed: one row per setting with
the mean validation NDCG@10, each window's, the test NDCG@10, and the Spearman correlation
of the validation and test columns; with several DAN settings, the setting the windows prefer
against the plain EASE they prefer, on the test. --sample N also scores each validation fit on a seeded
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


def settings(lambdas: str, half_lives: str, betas: str = "0", gammas: str = "0") -> list[EASEParams]:
    """Grouped so that neighbours share the cache: one Gram matrix per half-life and beta, one
    inverse per lambda for all gammas (GramCache.kept)."""
    lives = [None if h == "none" else float(h) for h in half_lives.split(",")]
    return [
        EASEParams(
            regularization=float(r),
            weighting=WeightingConfig(scheme="binary", half_life_days=h),
            user_exponent=float(b),
            popularity_exponent=float(g),
        )
        for h in lives
        for b in betas.split(",")
        for r in lambdas.split(",")
        for g in gammas.split(",")
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
    parser.add_argument("--user-exponents", default="0", help="DAN's beta, comma-separated")
    parser.add_argument("--popularity-exponents", default="0", help="DAN's gamma, comma-separated")
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
    grid = settings(args.lambdas, args.half_lives, args.user_exponents, args.popularity_exponents)
    dan = len({(p.user_exponent, p.popularity_exponent) for p in grid}) > 1
    # Split by split (the settings in cache order within each), so one kept B serves every gamma.
    per = {i: [] for i in range(len(grid))}
    per_sample = {i: [] for i in range(len(grid))}
    tested = []
    grams = GramCache(size=1)
    for fold, accounts, sample in folds:
        for i, params in enumerate(grid):
            model = EASERecommender(params, grams=grams).fit(fold.train)
            per[i].append(score(model, fold, accounts))
            if args.sample:  # else the sample is the window's accounts: scored already
                per_sample[i].append(score(model, fold, sample))
    for params in grid:
        tested.append(score(EASERecommender(params, grams=grams).fit(test.train), test, test.test_accounts()))
    head = "| lambda | half-life |" + (" beta | gamma |" if dan else "")
    print(head + " validation | per window | test |\n|" + "---|" * (head.count("|") + 2))
    val = [float(np.mean(per[i])) for i in range(len(grid))]
    sampled = [float(np.mean(per_sample[i])) if args.sample else 0.0 for i in range(len(grid))]
    for i, params in enumerate(grid):
        print(
            f"| {params.regularization:g} | {params.weighting.half_life_days} |"
            + (f" {params.user_exponent:g} | {params.popularity_exponent:g} |" if dan else "")
            + f" {val[i]:.4f} | {' '.join(f'{s:.4f}' for s in per[i])} | {tested[i]:.4f} |"
            + (
                f" sample: {sampled[i]:.4f} ({' '.join(f'{s:.4f}' for s in per_sample[i])})"
                if args.sample
                else ""
            ),
            flush=True,
        )
    if dan:
        plain = [i for i, p in enumerate(grid) if not p.user_exponent and not p.popularity_exponent]
        if plain:
            chosen_plain = max(plain, key=lambda i: val[i])
            chosen = max(range(len(grid)), key=lambda i: val[i])
            c = grid[chosen]
            print(
                f"\nthe windows prefer: plain EASE lambda {grid[chosen_plain].regularization:g} "
                f"(test {tested[chosen_plain]:.4f}); of all, lambda {c.regularization:g} beta "
                f"{c.user_exponent:g} gamma {c.popularity_exponent:g} (test {tested[chosen]:.4f}, "
                f"{tested[chosen] / tested[chosen_plain] - 1:+.1%})"
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
