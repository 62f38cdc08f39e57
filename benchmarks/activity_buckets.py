"""Blend weights per account-activity bucket: can the validation windows choose them, and what
do they do on the test?

    .venv/bin/python benchmarks/activity_buckets.py FILE --cutoff 2011-09-01 --from or.json
    .venv/bin/python benchmarks/activity_buckets.py --dataset completejourney --from cj.json

--from takes the JSON of `benchmarks/quality.py --json` (its served parameters: the tuned
components). The tuner's components (ALS, EASE, item-kNN, RP3beta) are fitted once per
validation window (the tuner's: 3 windows of the test length, 30 days apart, at most 3,000
sampled accounts) and once on the test split, and standardised as the served model does
(model.tuning.zscores). Bucket rule, fixed before looking at any score: an account is
*light* if it owns fewer distinct products than the median training account of the same
split, else *heavy* (the median is taken over that split's training rows, nothing after its
cutoff).

Three ways to choose blend weights among the tuner's coarse simplex (steps of 1/4, ALS > 0):

- one blend: the best mean NDCG@10 over the validation windows (the tuner's coarse choice);
- per bucket: for each bucket the best mean over the windows of that bucket's accounts;
- the check that decides whether validation can choose buckets at all: leave one window out,
  choose both ways on the other two and score on the held-out window.

Printed: per bucket the weights chosen; the held-out validation NDCG@10 of both ways; on the
test (scored only, never used to choose) both ways' NDCG@10 and the paired bootstrap 95 %
interval of per bucket minus one blend.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import json
import sys
import time
from typing import Any

import numpy as np
import numpy.typing as npt
from blend_analysis import components as blend_components
from blend_analysis import served_run

from crossgraph.data.split import time_split, validation_folds
from crossgraph.model.base import Recommender, top_k
from crossgraph.model.bootstrap import paired_bootstrap
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.metrics import per_account_ndcg
from crossgraph.model.tuning import DEFAULT_COMPONENTS, SearchSpace, zscores

Matrix = npt.NDArray[np.float32]
BUCKETS = ("light", "heavy")


def components(params: HybridParams) -> dict[str, Recommender]:
    """blend_analysis's components, without bought next (not in the default blend)."""
    return {c: m for c, m in blend_components(params).items() if c in DEFAULT_COMPONENTS}


class Split:
    """One split's standardised component scores, its accounts' buckets and relevant rows."""

    def __init__(self, params: HybridParams, train: Any, test: Any, accounts: npt.NDArray[np.intp]) -> None:
        owned_all = np.diff(train.binary.indptr)
        edge = float(np.median(owned_all[owned_all > 0]))  # the fixed rule: median training account
        self.owned, self.relevant, self.n = train.binary[accounts], test.binary[accounts], train.shape[1]
        self.bucket = np.where(owned_all[accounts] < edge, 0, 1)
        self.edge = edge
        self.z: dict[str, Matrix] = {}
        for name, model in components(params).items():
            model.fit(train)
            self.z[name] = zscores(np.asarray(model.score(accounts), dtype=np.float32), self.owned)

    def per_account(self, weights: dict[str, float]) -> npt.NDArray[np.float64]:
        """NDCG@10 of every account (all have a relevant product) under the blend."""
        total = sum(np.float32(w) * self.z[c] for c, w in weights.items() if w)
        items, _ = top_k(np.asarray(total, dtype=np.float32).copy(), 10, self.owned)
        scores = per_account_ndcg(items, self.relevant, k=10)
        assert len(scores) == len(self.bucket), "every scored account has a purchase in its window"
        return scores


def choose(
    table: list[list[npt.NDArray[np.float64]]], splits: list[Split], windows: list[int], bucket: int | None
) -> int:
    """The blend (index) with the best mean NDCG@10 over `windows` (on one bucket's accounts)."""

    def mean(i: int) -> float:
        parts = []
        for f in windows:
            scores = table[i][f]
            parts.append(scores.mean() if bucket is None else scores[splits[f].bucket == bucket].mean())
        return float(np.mean(parts))

    return max(range(len(table)), key=mean)


def main() -> None:
    started = time.perf_counter()
    args, lines, cutoff, params, window = served_run(__doc__)
    rng = np.random.default_rng(0)
    blends = SearchSpace().blends(DEFAULT_COMPONENTS)
    splits: list[Split] = []
    for fold in validation_folds(lines, cutoff, window, 3, stride_days=30.0):
        accounts = fold.test_accounts()
        if len(accounts) > 3000:
            accounts = np.sort(rng.choice(accounts, size=3000, replace=False))
        splits.append(Split(params, fold.train, fold.test, accounts))
        print(f"window {str(fold.cutoff)[:10]} done, {time.perf_counter() - started:.0f}s", file=sys.stderr)
    n_val = len(splits)
    test_split = time_split(lines, cutoff)
    splits.append(Split(params, test_split.train, test_split.test, test_split.test_accounts()))
    # table[blend][split] = per-account NDCG@10
    table = [[s.per_account(w) for s in splits] for w in blends]

    def name(i: int) -> str:
        return " ".join(f"{c}={w:.2f}" for c, w in blends[i].items() if w)

    def mixed(picks: list[int], f: int) -> npt.NDArray[np.float64]:
        out = np.empty(len(splits[f].bucket))
        for b, pick in enumerate(picks):
            mask = splits[f].bucket == b
            out[mask] = table[pick][f][mask]
        return out

    # Leave one window out: choose on the other two, score on the held-out one.
    held: dict[str, list[float]] = {"one blend": [], "per bucket": []}
    for out_f in range(n_val):
        rest = [f for f in range(n_val) if f != out_f]
        one = choose(table, splits, rest, None)
        picks = [choose(table, splits, rest, b) for b in range(len(BUCKETS))]
        held["one blend"].append(float(table[one][out_f].mean()))
        held["per bucket"].append(float(mixed(picks, out_f).mean()))
    windows = list(range(n_val))
    one = choose(table, splits, windows, None)
    picks = [choose(table, splits, windows, b) for b in range(len(BUCKETS))]
    t = n_val
    test_one, test_mixed = table[one][t], mixed(picks, t)
    interval = paired_bootstrap(test_mixed, test_one)
    light = splits[t].bucket == 0
    print(f"bucket edge (median distinct products of a training account): test split {splits[t].edge:g}")
    print("\n| choice | weights | held-out validation (3 windows) | test NDCG@10 | light | heavy |")
    print("|---|---|---|---|---|---|")
    print(
        f"| one blend | {name(one)} | {np.mean(held['one blend']):.4f} | {test_one.mean():.4f} | "
        f"{test_one[light].mean():.4f} | {test_one[~light].mean():.4f} |"
    )
    print(
        f"| per bucket | light: {name(picks[0])}; heavy: {name(picks[1])} | "
        f"{np.mean(held['per bucket']):.4f} | "
        f"{test_mixed.mean():.4f} | {test_mixed[light].mean():.4f} | {test_mixed[~light].mean():.4f} |"
    )
    print(
        f"\nper bucket - one blend on the test: {interval.text()}"
        f" over {interval.accounts} accounts ({light.sum()} light)"
    )
    print(f"held-out windows, one blend: {' '.join(f'{x:.4f}' for x in held['one blend'])}")
    print(f"held-out windows, per bucket: {' '.join(f'{x:.4f}' for x in held['per bucket'])}")
    print(f"\n{time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "data": args.dataset or args.file.name,
                    "cutoff": cutoff,
                    "one_blend": blends[one],
                    "per_bucket": {b: blends[p] for b, p in zip(BUCKETS, picks, strict=True)},
                    "held_out": held,
                    "test": {"one_blend": float(test_one.mean()), "per_bucket": float(test_mixed.mean())},
                    "interval": interval.to_dict(),
                    "edges": [s.edge for s in splits],
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
