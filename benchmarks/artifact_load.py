"""What checking an artifact's shapes costs a reload: Artifact.load with and without
`check_shapes`, on a synthetic artifact of the nightly job's size (random arrays of the right
shapes and dtypes; the page cache is warm; the two loads take turns, best of --repeat).

    .venv/bin/python benchmarks/artifact_load.py                    # 100k accounts, 5k products
    .venv/bin/python benchmarks/artifact_load.py --accounts 20000 --products 2000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from rich.console import Console
from rich.table import Table

from crossgraph.model import artifact as art

FACTORS, PEERS, TOP_N, SHOWN = 64, 20, 50, 3
COMPONENTS = ["als", "ease", "knn", "rp3"]  # every component weighted: the largest shares file


def write_synthetic(folder: Path, accounts: int, products: int, density: float) -> None:
    rng = np.random.default_rng(0)
    np.save(folder / "account_ids.npy", np.array([f"A{i:06d}" for i in range(accounts)]))
    np.save(folder / "product_ids.npy", np.array([f"P{i:05d}" for i in range(products)]))
    np.save(folder / "account_factors.npy", rng.random((accounts, FACTORS), dtype=np.float32))
    np.save(folder / "product_factors.npy", rng.random((products, FACTORS), dtype=np.float32))
    owned = sp.random(accounts, products, density=density, format="csr", dtype=np.float32, random_state=0)
    sp.save_npz(folder / "owned.npz", owned)
    sp.save_npz(folder / "als_confidence.npz", owned)
    np.save(folder / "similar_accounts.npy", rng.integers(0, accounts, (accounts, PEERS), dtype=np.int32))
    np.save(folder / "similar_scores.npy", rng.random((accounts, PEERS), dtype=np.float32))
    np.save(folder / "recommended.npy", rng.integers(0, products, (accounts, TOP_N), dtype=np.int32))
    np.save(folder / "recommended_scores.npy", rng.random((accounts, TOP_N), dtype=np.float32))
    np.save(folder / "evidence_counts.npy", rng.integers(0, PEERS, (accounts, TOP_N), dtype=np.uint8))
    np.save(folder / "evidence_peers.npy", rng.integers(0, PEERS, (accounts, TOP_N, SHOWN), dtype=np.uint8))
    np.save(folder / "driver_items.npy", rng.integers(-1, products, (accounts, TOP_N, SHOWN), dtype=np.int32))
    np.save(folder / "driver_scores.npy", rng.random((accounts, TOP_N, SHOWN), dtype=np.float32))
    shares = rng.integers(0, 101, (accounts, TOP_N, len(COMPONENTS)), dtype=np.uint8)
    np.save(folder / "component_shares.npy", shares)
    ids = [f"A{i:06d}" for i in range(accounts)]
    (folder / "accounts.json").write_text(json.dumps({a: {"id": a, "name": a} for a in ids}))
    (folder / "products.json").write_text(
        json.dumps({f"P{i:05d}": {"sku": f"P{i:05d}"} for i in range(products)})
    )
    manifest = {
        "format": art.ARTIFACT_FORMAT,
        "version": "bench",
        "data": {"accounts": accounts, "products": products},
        "components": COMPONENTS,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))


def timed_load(folder: Path, checked: bool) -> float:
    original = art.check_shapes
    if not checked:
        art.check_shapes = lambda artifact: None  # type: ignore[assignment]  # the load as it was
    try:
        start = time.perf_counter()
        art.Artifact.load(folder)
        return time.perf_counter() - start
    finally:
        art.check_shapes = original


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--density", type=float, default=0.004, help="owned pairs per cell (0.004: 2M pairs)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crossgraph-artifact-") as tmp:
        folder = Path(tmp)
        write_synthetic(folder, args.accounts, args.products, args.density)
        timed_load(folder, checked=True)  # warm the page cache
        runs = [(timed_load(folder, True), timed_load(folder, False)) for _ in range(args.repeat)]
        checked, unchecked = min(r[0] for r in runs), min(r[1] for r in runs)  # taking turns
        loaded = art.Artifact.load(folder)
        start = time.perf_counter()
        for _ in range(args.repeat):
            art.check_shapes(loaded)
        alone = (time.perf_counter() - start) / args.repeat
    load = os.getloadavg()[0]
    title = (
        f"Artifact.load, {args.accounts:,} accounts x {args.products:,} products (load average {load:.1f})"
    )
    table = Table(title=title)
    for column in ("step", "seconds"):
        table.add_column(column)
    table.add_row("load with the shape checks", f"{checked:.3f}")
    table.add_row("load without them", f"{unchecked:.3f}")
    table.add_row("check_shapes alone", f"{alone:.3f}")
    Console().print(table)
    if args.json:
        figures = {"accounts": args.accounts, "products": args.products, "load_average": load}
        figures |= {"load_checked_s": checked, "load_unchecked_s": unchecked, "check_shapes_s": alone}
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
