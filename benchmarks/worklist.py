"""Serving the account worklist: a snapshot of N accounts, its load, and the first page per query.

    .venv/bin/python benchmarks/worklist.py                 # 100k accounts
    .venv/bin/python benchmarks/worklist.py --accounts 10000

Builds a snapshot of synthetic rows shaped exactly as `crossgraph worklist refresh` writes them
(random potential, values, owners, segments, flags), writes and reads it as the CLI and the API
do, then times what `GET /v1/accounts` does per request (recommend.worklist.Worklist.page and
the orjson body) for the first page under each sort and with filters. Loading a snapshot
codes the filter fields and orders the rows for every sort once (timed as "prepare").
Target (issue 12): the first page for 100k accounts in under 200 ms.

The refresh itself (a row costs the same graph reads as an account plan) is timed by the
integration run of `crossgraph worklist refresh`; docs/worklist.md gives the figure.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from crossgraph.recommend.worklist import FLAG_TEXT, FORMAT, Worklist, read_snapshot, write_snapshot

OWNERS = ("m.keller", "s.novak", "a.rossi", "j.lindqvist", "p.dubois", "k.jansen")
SEGMENTS = tuple(
    f"{i} / {s}" for i in ("food", "metal", "pharma", "plastics") for s in ("small", "mid", "large")
)


def synthetic_rows(n: int, rng: random.Random) -> list[dict[str, Any]]:
    component = {"value": 0.5, "weight": 0.2, "detail": "Press X100 (PRX-2015-001067) is 11 years old"}
    rows = []
    for i in range(n):
        rows.append(
            {
                "id": f"A{i + 1:06d}",
                "name": f"Account {i + 1} GmbH",
                "segment": rng.choice(SEGMENTS),
                "industry": "metalworking",
                "country": rng.choice(("Germany", "France", "Italy", "Poland")),
                "owner": rng.choice(OWNERS),
                "potential": rng.randint(0, 100),
                "components": {
                    k: component for k in ("age", "utilization", "configuration", "contract", "since_upgrade")
                },
                "open_value": round(rng.uniform(0, 800_000), 2),
                "opportunities": 8,
                "top_opportunity": {
                    "kind": "upsell",
                    "signal": "capacity",
                    "sku": "PR-X200-PRO",
                    "name": "Press X200 Pro",
                    "expected_value": 150000.0,
                    "reason": "Press X200 runs at 94% of capacity (threshold 85%); add capacity",
                },
                "next_contract_end": {
                    "id": f"C{i}",
                    "ends_at": "2027-01-15",
                    "days_left": rng.randint(0, 900),
                },
                "last_touchpoint": {"type": "meeting", "occurred_at": "2026-05-01", "owner": "m.keller"},
                "days_since_touchpoint": rng.choice((None, rng.randint(0, 700))),
                "days_since_upsell_conversation": rng.choice((None, rng.randint(0, 700))),
                "revenue_12m": round(rng.uniform(0, 2_000_000), 2),
                "revenue_trend": rng.uniform(-0.5, 0.5),
                "flags": [f for f in FLAG_TEXT if rng.random() < 0.3],
            }
        )
    return rows


def first_page(worklist: Worklist, limit: int = 50, **query: Any) -> bytes:
    total, rows = worklist.page(limit=limit, **query)
    return orjson.dumps({"total": total, "items": rows})


def timed(call: Any, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    rng = random.Random(7)
    rows = synthetic_rows(args.accounts, rng)
    body = {
        "format": FORMAT,
        "as_of": "2026-11-30",
        "model_version": "bench",
        "created_at": "x",
        "rows": rows,
    }
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        path = write_snapshot(Path(tmp), body)
        write_s = time.perf_counter() - start
        start = time.perf_counter()
        loaded = read_snapshot(path)
        read_s = time.perf_counter() - start
        size = path.stat().st_size
    start = time.perf_counter()
    worklist = Worklist(path, loaded)
    prepare_s = time.perf_counter() - start
    queries: list[tuple[str, dict[str, Any]]] = [
        ("sort=potential", {"sort": "potential"}),
        ("sort=open_value", {"sort": "open_value"}),
        ("sort=revenue", {"sort": "revenue"}),
        ("sort=last_touchpoint", {"sort": "last_touchpoint"}),
        ("owner=s.novak", {"owner": ["s.novak"]}),
        ("country=France&segment=food / mid", {"country": ["France"], "segment": ["food / mid"]}),
        ("flag=upsell_talk_due,contract_ends_soon", {"flag": ["upsell_talk_due", "contract_ends_soon"]}),
    ]
    table = Table(title=f"GET /v1/accounts first page (50 rows), {args.accounts:,} accounts, ms")
    for column in ("query", "first call", "p50", "p99"):
        table.add_column(column, justify="left" if column == "query" else "right")
    for name, query in queries:
        cold = timed(lambda q=query: first_page(worklist, **q), 1)[0]  # type: ignore[misc]
        warm = sorted(timed(lambda q=query: first_page(worklist, **q), args.repeat))  # type: ignore[misc]
        p99 = warm[min(len(warm) - 1, int(0.99 * len(warm)))]
        table.add_row(name, f"{cold:.1f}", f"{statistics.median(warm):.1f}", f"{p99:.1f}")
    console = Console()
    console.print(table)
    console.print(
        f"snapshot: {size / 1e6:.1f} MB gzip, written in {write_s:.1f} s, read in {read_s:.1f} s, "
        f"prepared in {prepare_s:.1f} s (the API does both once per refresh, not per request)"
    )


if __name__ == "__main__":
    main()
