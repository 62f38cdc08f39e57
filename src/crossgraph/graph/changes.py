"""The change feed: which accounts changed in the graph since a serving worker last looked.

Every write that changes what an account owns or is (purchases and accounts posted to the API,
won feedback) records a `:Change` with the next number of one `:ChangeFeed` counter. The graph
stays the source of truth: a worker that sees a change reads the account's row again
(`account_rows`) and refolds it, so changes can be replayed any number of times, in any
order, by any number of workers. Training records the latest number at export time in the
artifact (`changes_until`); a worker loading that model replays the changes after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from crossgraph.graph.driver import Graph

ChangeKind = Literal["purchases", "accounts", "won"]
LOAD_CHUNK = 10_000  # accounts per change recorded for a file load


@dataclass(frozen=True)
class Changes:
    accounts: list[str]  # changed after the number asked for, in order of first change
    seq: int  # the newest number read (the number asked for when nothing changed)


@dataclass(frozen=True)
class AccountRow:
    """One account as the graph holds it now, per product it bought (or won): the aggregates
    training weights (orders, lines, quantity, revenue) and the last purchase."""

    id: str
    name: str | None
    industry: str | None
    country: str | None
    skus: list[str]
    orders: npt.NDArray[np.float64]
    lines: npt.NDArray[np.float64]
    quantity: npt.NDArray[np.float64]
    revenue: npt.NDArray[np.float64]
    last_at: npt.NDArray[np.datetime64]
    installed: list[str]  # owned through the installed base (not purchases)


def record_change(graph: Graph, accounts: Sequence[str], kind: ChangeKind) -> int:
    """Record that `accounts` changed; the change's number."""
    rows = graph.write("record_change", {"accounts": list(dict.fromkeys(accounts)), "kind": kind})
    return int(rows[0]["seq"]) if rows else change_seq(graph)


def record_load(graph: Graph, changed: Mapping[ChangeKind, Sequence[str]], chunk: int = LOAD_CHUNK) -> int:
    """Record what a file load changed (`crossgraph load`: accounts written, accounts with new
    purchase lines), as the API records its writes. How many changes were recorded."""
    changes = load_changes(changed, chunk)
    for kind, accounts in changes:
        record_change(graph, accounts, kind)
    return len(changes)


def load_changes(
    changed: Mapping[ChangeKind, Sequence[str]], chunk: int = LOAD_CHUNK
) -> list[tuple[ChangeKind, list[str]]]:
    """The changes record_load records for a load, in order: each kind's distinct accounts, at
    most `chunk` per change (`load --initial` imports the same ones)."""
    changes: list[tuple[ChangeKind, list[str]]] = []
    for kind, accounts in changed.items():
        ids = list(dict.fromkeys(accounts))
        changes.extend((kind, ids[start : start + chunk]) for start in range(0, len(ids), chunk))
    return changes


def prune_changes(graph: Graph, before: datetime, batch: int = 10_000) -> int:
    """Delete the changes recorded before `before`: how many. Run at training: a worker serving
    a model trained earlier than the retention would miss those changes when it restarts."""
    deleted = 0
    while True:
        n = int(graph.write("prune_changes", {"before": before.isoformat(), "limit": batch})[0]["deleted"])
        deleted += n
        if n < batch:
            return deleted


def change_seq(graph: Graph) -> int:
    """The number of the latest change, 0 before the first."""
    return int(graph.read("change_seq")[0]["seq"])


def changes_since(graph: Graph, after: int, limit: int = 10_000) -> Changes:
    """The accounts changed after change `after` (at most `limit` changes at a time)."""
    rows = graph.read("changes_since", {"after": after, "limit": limit})
    if not rows or rows[0]["seq"] is None:
        return Changes([], after)
    return Changes([str(a) for a in rows[0]["accounts"]], int(rows[0]["seq"]))


def account_rows(graph: Graph, ids: Sequence[str]) -> list[AccountRow]:
    """The rows of the accounts of `ids` the graph knows (won deals count as purchases of one
    order per deal, as training exports them)."""
    return [_row(r) for r in graph.read("account_rows", {"ids": list(ids)})]


def _row(r: dict[str, Any]) -> AccountRow:
    won = len(r["won"])

    def column(bought: str, deals: list[Any] | None) -> npt.NDArray[np.float64]:
        values = [float(v or 0.0) for v in r[bought]] + [float(v or 0.0) for v in (deals or [0.0] * won)]
        return np.asarray(values, dtype=np.float64)

    seconds = [int(s) for s in r["last_at"]] + [int(s) for s in r["won_at"]]
    return AccountRow(
        id=str(r["id"]),
        name=_opt(r["name"]),
        industry=_opt(r["industry"]),
        country=_opt(r["country"]),
        skus=[str(s) for s in r["skus"]] + [str(s) for s in r["won"]],
        orders=column("orders", r["won_orders"]),
        lines=column("lines", r["won_orders"]),
        quantity=column("quantities", r["won_orders"]),
        revenue=column("revenues", r["won_revenues"]),
        last_at=np.asarray(seconds, dtype=np.int64).astype("datetime64[s]"),
        installed=[str(s) for s in r["installed"]],
    )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
