"""What the stored evidence and drivers cost at training (model.evidence.stored_evidence):
seconds and CPU seconds (best of 2) and bytes per array, on synthetic purchases (popularity
skew plus a taste neighbourhood per account), for the code on PYTHONPATH, so two branches
can be compared with one script:

    .venv/bin/python benchmarks/stored_drivers.py                       # training/params.json
    .venv/bin/python benchmarks/stored_drivers.py --all-components      # ALS, EASE, kNN, RP3beta
    PYTHONPATH=/work/main/src .venv/bin/python benchmarks/stored_drivers.py   # another checkout
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from crossgraph.data.matrix import build_interactions
from crossgraph.data.orderlines import OrderLines
from crossgraph.model.explain import ALSExplainer
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.recommend import evidence

PARAMS = Path(__file__).resolve().parents[1] / "training" / "params.json"


def purchases(accounts: int, products: int, seed: int = 0) -> OrderLines:
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, products + 1) ** 0.8
    popularity /= popularity.sum()
    start = datetime(2025, 1, 1)
    rows: list[dict[str, Any]] = []
    for a in range(accounts):
        k = int(rng.integers(3, 30))
        near = (int(rng.integers(0, products)) + rng.integers(0, 60, k // 2)) % products
        items = np.unique(np.concatenate([near, rng.choice(products, k - k // 2, p=popularity)]))
        for j, i in enumerate(items.tolist()):
            at = start + timedelta(days=int(rng.integers(0, 300)))
            rows.append(
                {"line_id": f"L{a}-{j}", "order_id": f"O{a}-{j % 4}", "account_id": f"A{a}", "sku": f"P{i}"}
                | {"quantity": 1.0, "revenue": 10.0, "ordered_at": at}
            )
    return OrderLines.from_rows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=3_000)
    parser.add_argument("--params", type=Path, default=PARAMS)
    parser.add_argument("--all-components", action="store_true", help="weight ALS, EASE, kNN and RP3beta")
    args = parser.parse_args()
    interactions = build_interactions(purchases(args.accounts, args.products))
    params = HybridParams.from_dict(json.loads(args.params.read_text())["model"])
    if args.all_components:
        weights = {"als_weight": 1.0, "ease_weight": 1.0, "knn_weight": 0.5, "rp3_weight": 0.5}
        params = HybridParams.from_dict(params.to_dict() | weights)
    model = HybridRecommender(params).fit(interactions)
    every = np.arange(interactions.shape[0])
    if hasattr(model, "keep_statistics"):
        model.keep_statistics()  # as write_artifact does
    items, _ = model.recommend(every, k=50)
    peers, _ = model.similar_accounts_batch(every, k=20)
    confidence = (model.als.user_items * np.float32(params.als.alpha)).tocsr().astype(np.float32)
    explainer = ALSExplainer(model.item_factors, confidence, params.als.regularization)
    owned = interactions.binary.tocsr().astype(np.float32)
    blended = "model" in inspect.signature(evidence.stored_evidence).parameters
    wall, cpu = [], []
    for _ in range(2):
        started, used = time.perf_counter(), time.process_time()
        extra: tuple[Any, ...] = (model,) if blended else ()
        out = evidence.stored_evidence(owned, peers, items, *extra, explainer)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    figures = {
        "code": evidence.__file__,
        "accounts": interactions.shape[0],
        "products": interactions.shape[1],
        "pairs": int(interactions.nnz),
        "blend": {k: round(v, 3) for k, v in params.blend.items()},
        "seconds": round(min(wall), 2),
        "cpu_seconds": round(min(cpu), 2),
        "bytes": {k: int(v.nbytes) for k, v in out.items()},
    }
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
