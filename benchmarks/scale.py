"""Scale benchmark, peers: every account's top-k similar accounts, exact vs HNSW (model.peers).

    .venv/bin/python benchmarks/scale.py                        # 100k accounts x 64 factors
    .venv/bin/python benchmarks/scale.py --accounts 20000       # quick check
    .venv/bin/python benchmarks/scale.py --json out.json

No graph and no fit: account factors are synthetic, drawn like ALS factors of segmented
customers (256 segment centres in factor space, each account its centre plus Gaussian noise
of 0.6 per factor; seed 0). Uniform random factors are the worst case for any ANN index
(no structure to exploit); --noise 10 comes close to it.

Both methods run the artifact step's own code (crossgraph.model.artifact.similar_accounts):
`exact` is the search below peers_ann_min_accounts, `hnsw` the one above it, with the
default settings unless --m / --ef-construction / --ef-search are given. Recall is the
share of the exact top-k peers that HNSW also returns, on --sample accounts (all of them
when the exact run is there to compare with, see `recall (all)`). Peak memory is the
process's max RSS after each method (ru_maxrss; it only grows).
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from crossgraph.model.artifact import similar_accounts
from crossgraph.model.peers import PeerSearch


def synthetic_factors(accounts: int, factors: int, noise: float, seed: int = 0) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(256, factors)).astype(np.float32)
    rows = centres[rng.integers(0, len(centres), accounts)]
    return (rows + noise * rng.normal(size=(accounts, factors))).astype(np.float32)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--noise", type=float, default=0.6)
    parser.add_argument("--sample", type=int, default=PeerSearch.recall_sample)
    parser.add_argument("--m", type=int, default=PeerSearch.hnsw_m)
    parser.add_argument("--ef-construction", type=int, default=PeerSearch.ef_construction)
    parser.add_argument("--ef-search", type=int, default=PeerSearch.ef_search)
    parser.add_argument("--skip-exact", action="store_true", help="HNSW only (exact grows with accounts^2)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    factors = synthetic_factors(args.accounts, args.factors, args.noise)
    runs: dict[str, dict[str, Any]] = {}
    found: dict[str, np.ndarray[Any, Any]] = {}
    methods = [("hnsw", 1)] if args.skip_exact else [("exact", args.accounts + 1), ("hnsw", 1)]
    for name, threshold in methods:
        config = PeerSearch(
            ann_min_accounts=threshold,
            hnsw_m=args.m,
            ef_construction=args.ef_construction,
            ef_search=args.ef_search,
            recall_sample=args.sample,
        )
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            peers, _, record = similar_accounts(Path(folder), factors, args.k, config)
            record["seconds"] = round(time.perf_counter() - started, 2)
        record["peak_rss_mb"] = round(peak_mb())
        runs[name] = record
        found[name] = peers
    if "exact" in found:
        exact, approximate = found["exact"], found["hnsw"]
        hits = sum(int(np.isin(e[e >= 0], a).sum()) for e, a in zip(exact, approximate, strict=True))
        runs["hnsw"]["recall_all"] = round(hits / max(1, int((exact >= 0).sum())), 4)

    table = Table(title=f"top-{args.k} similar accounts, {args.accounts:,} accounts x {args.factors} factors")
    for column in (
        "method",
        "build s",
        "search s",
        "total s",
        f"recall@{args.k} (sample)",
        "recall (all)",
        "peak RSS MB",
    ):
        table.add_column(column, justify="left" if column == "method" else "right")
    for name, r in runs.items():
        table.add_row(
            name,
            f"{r['build_seconds']:.1f}",
            f"{r['search_seconds']:.1f}",
            f"{r['seconds']:.1f}",
            f"{r[f'recall@{args.k}']:.4f} ({r['recall_sample']:,})" if r["recall_sample"] else "exact",
            f"{r['recall_all']:.4f}" if "recall_all" in r else "",
            f"{r['peak_rss_mb']:,}",
        )
    Console().print(table)
    if args.json:
        args.json.write_text(
            json.dumps({"args": vars(args) | {"json": str(args.json)}, "runs": runs}, indent=2)
        )


if __name__ == "__main__":
    main()
