"""A diagnostic after the fact: the served blend a `quality.py --json` run tuned, refitted on its
test split as tuned, next to the same blend with its EASE component's EDLAE dropout set to 0
(plain EASE at the same lambda, the same weights). Decides nothing: the test is only scored.

    .venv/bin/python benchmarks/edlae_swap.py or.json /work/shared/datasets/online_retail/online_retail.csv.gz
    .venv/bin/python benchmarks/edlae_swap.py cj.json --dataset completejourney

Printed: both NDCG@10 on the test accounts and the paired bootstrap 95 % interval (2,000
resamples, seed 0) of tuned minus swapped.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import json
from dataclasses import replace
from pathlib import Path

from datasets import DATASETS, DEFAULT_CACHE, prepare

from crossgraph.data.purchase_file import read_purchase_file
from crossgraph.data.split import time_split
from crossgraph.model.bootstrap import paired_bootstrap
from crossgraph.model.evaluate import score_recommender
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="a quality.py --json file of a tuned run")
    parser.add_argument("file", type=Path, nargs="?")
    parser.add_argument("--dataset", choices=sorted(DATASETS))
    args = parser.parse_args()
    run = json.loads(args.run.read_text())
    tuned = HybridParams.from_dict(run["tuning"]["best"])
    swapped = replace(tuned, ease=replace(tuned.ease, dropout=0.0))
    lines = read_purchase_file(args.file or prepare(args.dataset, DEFAULT_CACHE)).lines
    split = time_split(lines, run["cutoff"])
    dense = get_settings().dense
    scores = {}
    for name, params in (("tuned", tuned), ("dropout 0", swapped)):
        model = HybridRecommender(params, dense=dense).fit(split.train)
        scores[name] = score_recommender(model, split)
        print(f"{name}: {params.describe()}, NDCG@10 {scores[name].metrics['ndcg@10']:.4f}", flush=True)
    versus = paired_bootstrap(scores["tuned"].per_account, scores["dropout 0"].per_account)
    print(f"tuned - dropout 0: {versus.text()} ({versus.accounts} test accounts)")


if __name__ == "__main__":
    main()
