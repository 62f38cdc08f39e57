"""The worklist: accounts ranked by the value of their next best actions.

Opportunity value = the sum of the expected value (the expected margin: likelihood x margin x
boost x urgency, see recommend.actions and docs/ranking.md) of an account's top TOP
suggestions, of the kinds cross_sell, upsell and renewal, as recommendation_list fuses them for
the account page.

Cost decides how it is computed. Cross-sell comes from the in-memory model (about 0.6 ms per
account), upsell and renewal need two graph reads per account (about 90 ms). So the ranking
over every account uses the cross-sell sum (each account's top TOP cross-sell items), computed
once per model version and cached (about 6 s for 10k accounts, once); only the accounts of the
page shown are asked the full list, all kinds, in parallel, and their upsell, renewal and total
values are shown next to the ranking value. Filters (segment, industry, country) work on the
model's account attributes; the data format has no account owner, so there is no owner filter.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from crossgraph.api.deps import AppState
from crossgraph.recommend.actions import KINDS
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.nba import GraphRun, Intel, ListOptions, recommendation_list

TOP = 8  # suggestions summed per account: the account page shows this many
PAGE_SIZE = 25
WORKERS = 8  # page rows asked of the graph at once


@dataclass(frozen=True)
class CrossSellTable:
    """Per account (the engine's order): the cross-sell value of its top TOP items."""

    version: str
    value: npt.NDArray[np.float64]
    segments: list[str | None]


class CrossSellCache:
    """One table per model version; a reload to another version builds the next on first use."""

    def __init__(self) -> None:
        self._table: CrossSellTable | None = None
        self._lock = threading.Lock()

    def of(self, engine: Engine, run: GraphRun, intel: Intel | None = None) -> CrossSellTable:
        table = self._table
        if table is not None and table.version == engine.version:
            return table
        with self._lock:  # one build at a time; the others wait for it
            table = self._table
            if table is None or table.version != engine.version:
                table = cross_sell_table(engine, run, intel)
                self._table = table
            return table


def cross_sell_table(engine: Engine, run: GraphRun, intel: Intel | None = None) -> CrossSellTable:
    """The cross-sell value of every account in the model (no graph read: in-model accounts),
    with the served margins (`intel`), as the page's full lists."""
    options = ListOptions(limit=TOP)
    value = np.zeros(engine.n_accounts, dtype=np.float64)
    for i, account_id in enumerate(engine.account_ids):
        body = recommendation_list(engine, run, account_id, options, intel)
        value[i] = sum(float(item["expected_value"]) for item in body["items"])
    info = engine.artifact.account_info
    segments = [_text(info.get(a, {}).get("segment")) for a in engine.account_ids]
    return CrossSellTable(engine.version, value, segments)


@dataclass(frozen=True)
class Filter:
    segment: str = ""
    industry: str = ""
    country: str = ""


def ranked(engine: Engine, table: CrossSellTable, chosen: Filter) -> npt.NDArray[np.intp]:
    """Account indices passing the filter, highest cross-sell value first (ties: model order)."""
    keep = np.ones(engine.n_accounts, dtype=bool)
    for wanted, values in (
        (chosen.segment, table.segments),
        (chosen.industry, engine.industries),
        (chosen.country, engine.countries),
    ):
        if wanted:
            keep &= np.fromiter((v == wanted for v in values), dtype=bool, count=engine.n_accounts)
    found = np.flatnonzero(keep)
    order: npt.NDArray[np.intp] = found[np.argsort(-table.value[found], kind="stable")]
    return order


def choices(engine: Engine, table: CrossSellTable) -> dict[str, list[str]]:
    """The values each filter offers."""
    return {
        "segment": sorted({s for s in table.segments if s}),
        "industry": sorted({str(v) for v in engine.industries if v}),
        "country": sorted({str(v) for v in engine.countries if v}),
    }


def page_rows(
    engine: Engine, state: AppState, table: CrossSellTable, indices: Sequence[int], today: date
) -> tuple[list[dict[str, Any]], bool]:
    """The full list (all kinds, as the account page) of each account shown: (rows, partial).
    Blocking (graph reads): call from a thread."""

    def one(i: int) -> dict[str, Any]:
        account_id = engine.account_ids[i]
        options = ListOptions(
            limit=TOP, kinds=KINDS, suppressed=state.suppressions.of(account_id), as_of=today
        )
        body = recommendation_list(engine, state.graph.run, account_id, options, state.intel)
        items = body["items"]
        by_kind = {k: sum(float(x["expected_value"]) for x in items if x["kind"] == k) for k in KINDS}
        return {
            "account": body["account"],
            "segment": table.segments[i],
            "ranking_value": float(table.value[i]),
            "by_kind": by_kind,
            "total": sum(by_kind.values()),
            "count": len(items),
            "best": items[0] if items else None,
            "partial": body["partial"],
        }

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        rows = list(pool.map(one, indices))
    return rows, any(r["partial"] for r in rows)


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value)
