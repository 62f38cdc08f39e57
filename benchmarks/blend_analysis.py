"""Where the blend's gain over the best baseline comes from: per-component scores and two ways
of putting the components on one scale, on the validation windows and on the test.

    .venv/bin/python benchmarks/blend_analysis.py --dataset completejourney --from cj.json
    .venv/bin/python benchmarks/blend_analysis.py FILE --cutoff 2011-09-01 --from or.json

--from takes the JSON of `benchmarks/quality.py --json` (its served parameters: the tuned
components). The components (ALS, EASE, item-kNN, RP3beta, bought next) are fitted once per
validation window (the tuner's: 3 windows of the test length, 30 days apart, at most 3,000
sampled accounts) and once on the test split. Every blend on the simplex in steps of 1/4 is
scored with

- z: each component standardised per account over its unowned products (the served formula,
  model.hybrid);
- rank: each component replaced by 1 - rank / n over the account's unowned products (rank 0
  = its best), a scale that ignores how peaked a component's scores are.

Printed, for each normalisation: the best blend on validation, its validation and test
NDCG@10, the best blend on the test (hindsight, never used to choose), and the Spearman
correlation of validation and test over all blends; then each component alone. Nothing after
the cutoff is used to choose anything.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from datasets import DATASETS, DEFAULT_CACHE, prepare
from scipy.stats import spearmanr

from crossgraph.data.purchase_file import read_purchase_file
from crossgraph.data.split import time_split, validation_folds
from crossgraph.model.als import ALSRecommender
from crossgraph.model.base import Recommender, top_k
from crossgraph.model.baselines import EASERecommender, ItemKNNRecommender
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.metrics import ranking_metrics
from crossgraph.model.rp3beta import RP3betaRecommender
from crossgraph.model.sequential import SequentialRecommender
from crossgraph.model.train import default_cutoff
from crossgraph.model.tuning import COMPONENTS, SearchSpace, zscores

Matrix = npt.NDArray[np.float32]


def ranks(raw: Matrix, owned: Any) -> Matrix:
    """1 - rank / n over each row's unowned products (best = 1); owned entries get 0."""
    scores = raw.copy()
    rows = np.repeat(np.arange(raw.shape[0]), np.diff(owned.indptr))
    scores[rows, owned.indices] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")
    out = np.empty_like(scores)
    n = raw.shape[1]
    np.put_along_axis(out, order, (1.0 - np.arange(n, dtype=np.float32) / n)[None, :], axis=1)
    out[rows, owned.indices] = 0.0
    return out


def components(params: HybridParams) -> dict[str, Recommender]:
    return {
        "als": ALSRecommender(params.als),
        "ease": EASERecommender(params.ease),
        "knn": ItemKNNRecommender(params.knn),
        "rp3": RP3betaRecommender(params.rp3),
        "seq": SequentialRecommender(params.seq),
    }


def blocks(params: HybridParams, train: Any, accounts: Any, owned: Any) -> dict[str, dict[str, Matrix]]:
    """{normalisation: {component: scores of the accounts}}."""
    out: dict[str, dict[str, Matrix]] = {"z": {}, "rank": {}}
    for name, model in components(params).items():
        model.fit(train)
        raw = np.asarray(model.score(accounts), dtype=np.float32)
        out["z"][name], out["rank"][name] = zscores(raw, owned), ranks(raw, owned)
    return out


def ndcg(scores: dict[str, Matrix], weights: dict[str, float], owned: Any, relevant: Any, n: int) -> float:
    total = sum(np.float32(w) * scores[c] for c, w in weights.items() if w)
    items, _ = top_k(np.asarray(total, dtype=np.float32).copy(), 10, owned)
    return float(ranking_metrics(items, relevant, ks=(10,), n_items=n)["ndcg@10"])


def served_run(description: str | None) -> tuple[argparse.Namespace, Any, str, HybridParams, float]:
    """The command line both blend studies share (this one and activity_buckets.py): the
    arguments, the lines of FILE or --dataset, the cutoff, the served parameters of a
    quality.py --json run, and the test window's days."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path, nargs="?")
    parser.add_argument("--dataset", choices=sorted(DATASETS))
    parser.add_argument("--cutoff")
    parser.add_argument("--from", dest="source", type=Path, required=True, help="quality.py --json output")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    path = args.file or prepare(args.dataset, DEFAULT_CACHE)
    lines = read_purchase_file(path).lines
    cutoff = args.cutoff or str(default_cutoff(lines, 120).date())
    params = HybridParams.from_dict(json.loads(args.source.read_text())["report"]["served_params"])
    last = lines.ordered_at.max().astype("datetime64[s]")
    window = float((last - np.datetime64(cutoff, "s")) / np.timedelta64(1, "D"))
    return args, lines, cutoff, params, window


def main() -> None:
    started = time.perf_counter()
    args, lines, cutoff, params, window = served_run(__doc__)
    rng = np.random.default_rng(0)
    blends = [b for b in SearchSpace().blends(COMPONENTS)]
    blends += [{c: float(c == one) for c in COMPONENTS} for one in COMPONENTS if one != "als"]
    val: dict[str, list[list[float]]] = {"z": [[] for _ in blends], "rank": [[] for _ in blends]}
    for fold in validation_folds(lines, cutoff, window, 3, stride_days=30.0):
        accounts = fold.test_accounts()
        if len(accounts) > 3000:
            accounts = np.sort(rng.choice(accounts, size=3000, replace=False))
        owned, relevant = fold.train.binary[accounts], fold.test.binary[accounts]
        scored = blocks(params, fold.train, accounts, owned)
        for norm, by_component in scored.items():
            for i, weights in enumerate(blends):
                val[norm][i].append(ndcg(by_component, weights, owned, relevant, fold.train.shape[1]))
        print(f"window {str(fold.cutoff)[:10]} done, {time.perf_counter() - started:.0f}s", file=sys.stderr)
    split = time_split(lines, cutoff)
    accounts = split.test_accounts()
    owned, relevant = split.train.binary[accounts], split.test.binary[accounts]
    scored = blocks(params, split.train, accounts, owned)
    test = {
        norm: [ndcg(scored[norm], w, owned, relevant, split.train.shape[1]) for w in blends]
        for norm in scored
    }
    out: dict[str, Any] = {"data": args.dataset or args.file.name, "cutoff": cutoff, "normalisations": {}}
    print("| normalisation | best on validation | validation | test | best on test (hindsight) | Spearman |")
    print("|---|---|---|---|---|---|")
    for norm in ("z", "rank"):
        means = [float(np.mean(v)) for v in val[norm]]
        pick = int(np.argmax(means))
        hindsight = int(np.argmax(test[norm]))
        rho = float(spearmanr(means, test[norm]).statistic)

        def name(i: int) -> str:
            return " ".join(f"{c}={w:.2f}" for c, w in blends[i].items() if w)

        print(
            f"| {norm} | {name(pick)} | {means[pick]:.4f} | {test[norm][pick]:.4f} | "
            f"{name(hindsight)} {test[norm][hindsight]:.4f} | {rho:.3f} |"
        )
        out["normalisations"][norm] = {
            "blends": [
                {"weights": w, "validation": m, "test": t}
                for w, m, t in zip(blends, means, test[norm], strict=True)
            ],
            "spearman": rho,
        }
    alone = {c: next(i for i, w in enumerate(blends) if w[c] == 1.0) for c in COMPONENTS}
    print("\n| component alone | validation | test |\n|---|---|---|")
    for c, i in alone.items():
        print(f"| {c} | {np.mean(val['z'][i]):.4f} | {test['z'][i]:.4f} |")
    print(f"\n{time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
