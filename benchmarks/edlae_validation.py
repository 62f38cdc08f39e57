"""EDLAE and DLAE against EASE, standalone: a lambda x dropout grid on the tuner's validation
windows, then each family's validation pick scored once on the test.

    .venv/bin/python benchmarks/edlae_validation.py /work/shared/datasets/online_retail/online_retail.csv.gz \
        --cutoff 2011-09-01
    .venv/bin/python benchmarks/edlae_validation.py --dataset completejourney
    .venv/bin/python benchmarks/edlae_validation.py --dataset instacart

Steck 2020 ("Autoencoders that don't overfit towards the identity"), with G = X^T X and the
dropout rate p:

- EASE: P = (G + lambda I)^-1, B = I - P diagMat(1 / diag(P)) (zero diagonal);
- EDLAE: the same with lambda I replaced by diag(lambda + p / (1 - p) G_ii)
  (model.baselines.EASEParams.dropout; p = 0 is EASE);
- DLAE: B = (G + Lambda)^-1 G = I - P Lambda with Lambda = diag(lambda + p / (1 - p) G_ii), no
  zero-diagonal constraint. Its diagonal scores only owned products, which are never ranked,
  so only the off-diagonal B_ij = -P_ij Lambda_jj matters here (not in crossgraph: this script
  fits it itself).

Validation: the tuner's 3 windows of the test length, 30 days apart, at most 3,000 sampled
test accounts each (model.tuning); the lambdas and dropouts of one window share its Gram matrix.
Each family's setting is chosen on the mean validation NDCG@10 alone; the test (every test
account of the split at the cutoff, default 120 days before the last line) only scores the
three picks, with the paired bootstrap interval (2,000 resamples, seed 0) of EDLAE and DLAE
minus EASE.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.linalg
from datasets import validation_windows, window_arguments
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from crossgraph.data.split import TimeSplit, time_split
from crossgraph.model.base import top_k
from crossgraph.model.baselines import EASEParams, GramCache
from crossgraph.model.bootstrap import paired_bootstrap
from crossgraph.model.metrics import per_account_ndcg


def weights(gram: npt.NDArray[np.float64], params: EASEParams, family: str) -> npt.NDArray[np.float32]:
    """B of EASE / EDLAE (family "edlae", zero diagonal) or DLAE (off-diagonal of I - P Lambda)."""
    a = gram.copy()
    penalty = np.broadcast_to(params.penalty(np.diag(gram).copy()), (len(a),)).copy()
    a[np.diag_indices_from(a)] += penalty
    with threadpool_limits(limits=os.cpu_count() or 1, user_api="blas"):
        p = scipy.linalg.inv(a, overwrite_a=True, check_finite=False)
    if family == "dlae":
        p *= -penalty[np.newaxis, :]  # B_ij = -P_ij Lambda_jj
    else:
        p /= -np.diag(p).copy()[np.newaxis, :]  # B_ij = -P_ij / P_jj
    np.fill_diagonal(p, 0.0)
    return p.astype(np.float32)


def per_account(b: npt.NDArray[np.float32], split: TimeSplit, accounts: npt.NDArray[np.intp]) -> Any:
    owned = split.train.binary[accounts]
    items, _ = top_k(np.asarray(owned @ b, dtype=np.float32), 10, owned)
    return per_account_ndcg(items, split.test.binary[accounts], 10)


def main() -> None:
    parser = window_arguments(__doc__)
    parser.add_argument("--lambdas", default="30,100,300,1000,3000", help="comma-separated")
    parser.add_argument("--dropouts", default="0,0.1,0.25,0.5", help="comma-separated p (0: EASE)")
    parser.add_argument("--dlae-dropouts", default="0.25,0.5", help="comma-separated p of DLAE ('' for none)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    lines, cutoff, windows = validation_windows(args.file, args.dataset, args.cutoff, args.max_accounts)
    folds = [(fold, accounts) for fold, accounts in windows if len(accounts)]
    lambdas = [float(x) for x in args.lambdas.split(",")]
    dropouts = [float(x) for x in args.dropouts.split(",")]
    dlae_dropouts = [float(x) for x in args.dlae_dropouts.split(",") if x]
    grid = [("edlae", EASEParams(regularization=r, dropout=p)) for p in dropouts for r in lambdas] + [
        ("dlae", EASEParams(regularization=r, dropout=p)) for p in dlae_dropouts for r in lambdas
    ]
    grams = GramCache(size=1)
    rows: list[dict[str, Any]] = []
    print("| family | lambda | p | validation | per window |\n|---|---|---|---|---|", flush=True)
    per_fold: dict[int, list[float]] = {}
    for fold, accounts in folds:
        gram = grams.get(fold.train, EASEParams().weighting)
        for i, (family, params) in enumerate(grid):
            ndcg = per_account(weights(gram, params, family), fold, accounts)
            per_fold.setdefault(i, []).append(float(ndcg.mean()))
    for i, (family, params) in enumerate(grid):
        label = "EASE" if params.dropout == 0 else family.upper()
        mean = float(np.mean(per_fold[i]))
        rows.append(
            {
                "family": label,
                "lambda": params.regularization,
                "p": params.dropout,
                "validation": mean,
                "per_window": per_fold[i],
            }
        )
        print(
            f"| {label} | {params.regularization:g} | {params.dropout:g} | {mean:.4f} | "
            f"{' '.join(f'{s:.4f}' for s in per_fold[i])} |",
            flush=True,
        )
    picks: dict[str, dict[str, Any]] = {}
    for label in ("EASE", "EDLAE", "DLAE"):
        candidates = [r for r in rows if r["family"] == label or (label == "EDLAE" and r["family"] == "EASE")]
        if candidates:
            picks[label] = max(candidates, key=lambda r: r["validation"])
    test = time_split(lines, cutoff)
    accounts = test.test_accounts()
    gram_test = GramCache(size=1).get(test.train, EASEParams().weighting)
    scores = {}
    for label, pick in picks.items():
        family = "dlae" if label == "DLAE" else "edlae"
        params = EASEParams(regularization=pick["lambda"], dropout=pick["p"])
        scores[label] = per_account(weights(gram_test, params, family), test, accounts)
        pick["test"] = float(scores[label].mean())
    print("\nvalidation picks (EDLAE's grid includes p = 0, i.e. EASE), scored once on the test:")
    print("| family | lambda | p | validation | test NDCG@10 | minus EASE [95 % interval] |")
    print("|---|---|---|---|---|---|")
    for label, pick in picks.items():
        versus = "" if label == "EASE" else paired_bootstrap(scores[label], scores["EASE"]).text()
        pick["minus_ease"] = versus
        print(
            f"| {label} | {pick['lambda']:g} | {pick['p']:g} | {pick['validation']:.4f} | {pick['test']:.4f} "
            f"| {versus} |"
        )
    seconds = time.perf_counter() - started
    load = os.getloadavg()[0]
    print(f"\n{len(accounts)} test accounts; {seconds:.0f} s, load {load:.1f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"cutoff": cutoff, "rows": rows, "picks": picks, "seconds": seconds, "load": load}, indent=2
            )
        )


if __name__ == "__main__":
    main()
