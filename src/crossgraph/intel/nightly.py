"""The portfolio figures precomputed by the nightly run, so that whole-graph answers come from a
file: the KPIs of the reporting day (with their quarterly history for the KPI page) and the
accounts ranked by revenue.

Computing the KPIs reads every order line of two years from the graph (seconds on 10k accounts,
a minute on 100k), and ranking the accounts by revenue reads every purchase. `crossgraph
worklist refresh` (run after the nightly `crossgraph train`, see training/) computes both and
writes `nightly.json` next to the worklist snapshots (CROSSGRAPH_WORKLIST_DIR, default
`<data_dir>/worklist/`), atomically. The API answers `GET /v1/kpis` without `as_of` (or with
the file's own `as_of`) from it, and `GET /v1/whitespace` without accounts takes its rows from
the ranking (the web workspace's KPI and whitespace pages do the same); any other day, a
different CROSSGRAPH_KPI_CAC, or no file yet is computed from the graph on the call, as before.
Purchases and contracts recorded after the refresh count from the
next one. `computed_at` says when the figures were computed.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from crossgraph.errors import InvalidInput
from crossgraph.graph.driver import Graph
from crossgraph.graph.live import top_accounts
from crossgraph.intel.kpis import HISTORY_QUARTERS, KPIs, history_days, kpi_history
from crossgraph.money import cents

FORMAT = 1
FILE = "nightly.json"
RANKED = 400  # accounts kept in the revenue ranking: twice the whitespace route's largest `top`


def kpi_answer(kpis: KPIs, computed_at: datetime, *, precomputed: bool) -> dict[str, Any]:
    """The body of GET /v1/kpis: the figures, when they were computed and whether from the file."""
    return {
        **kpis.to_dict(),
        "computed_at": computed_at.astimezone(UTC).isoformat(timespec="seconds"),
        "precomputed": precomputed,
    }


def refresh_nightly(
    graph: Graph, folder: Path, *, as_of: date, cac: float | None, computed_at: datetime | None = None
) -> tuple[Path, KPIs, int]:
    """Compute the KPIs of `as_of` with their history (one read of the graph, kpi_history) and
    the top RANKED accounts by revenue, and write them: the path, the KPIs, the accounts ranked."""
    series = kpi_history(graph, history_days(as_of), cac=cac)
    ranked = top_accounts(graph, RANKED)
    path = write_nightly(folder, series[-1], ranked, history=series[:-1], computed_at=computed_at)
    return path, series[-1], len(ranked)


def write_nightly(
    folder: Path,
    kpis: KPIs,
    ranked: Sequence[str],
    *,
    history: Sequence[KPIs] = (),
    computed_at: datetime | None = None,
) -> Path:
    """`folder`/nightly.json, replaced atomically (a temporary file, then a rename).
    `ranked`: account ids by total revenue, largest first (graph.live.top_accounts); `history`:
    the KPIs at the quarter starts before kpis.as_of (intel.kpis.history_days), oldest first."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    at = computed_at or datetime.now(UTC)
    body = {
        "format": FORMAT,
        "computed_at": at.astimezone(UTC).isoformat(timespec="seconds"),
        "kpis": kpi_answer(kpis, at, precomputed=True),
        "history": [k.to_dict() for k in history],
        "top_accounts": list(ranked),
    }
    target = folder / FILE
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".nightly-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(orjson.dumps(body))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


@dataclass(frozen=True)
class Nightly:
    path: Path
    computed_at: str  # ISO, UTC
    kpis: dict[str, Any]  # what GET /v1/kpis answers
    top_accounts: list[str]  # by total revenue, largest first (at most RANKED)
    history: list[dict[str, Any]]  # the KPIs at the quarter starts before as_of (empty: not stored)

    @property
    def as_of(self) -> date:
        return date.fromisoformat(self.kpis["as_of"])

    def answers_kpis(self, as_of: date | None, cac: float | None) -> bool:
        """Whether the stored KPIs are the answer for a call asking `as_of` (None: the newest
        day) with the configured acquisition cost `cac` (CLV/CAC depends on it)."""
        stored = self.kpis.get("acquisition_cost")
        same_cac = (stored is None and cac is None) or (
            stored is not None and cac is not None and cents(cac) == stored
        )
        return same_cac and (as_of is None or as_of == self.as_of)

    def kpi_series(self) -> list[KPIs] | None:
        """The KPI page's series (history_days of the snapshot's day), or None when the file
        holds no history of that many quarters (written before it did)."""
        if len(self.history) != HISTORY_QUARTERS:
            return None
        return [KPIs.from_dict(k) for k in [*self.history, self.kpis]]


def read_nightly(path: Path) -> Nightly:
    try:
        body = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InvalidInput(f"{path} is not a readable nightly snapshot: {exc}") from None
    if (
        not isinstance(body, dict)
        or body.get("format") != FORMAT
        or not isinstance(body.get("kpis"), dict)
        or not isinstance(body.get("top_accounts"), list)
        or not isinstance(body.get("history", []), list)
    ):
        raise InvalidInput(
            f"{path} is not a nightly snapshot of format {FORMAT}; run `crossgraph worklist refresh`"
        )
    return Nightly(
        path,
        str(body["computed_at"]),
        body["kpis"],
        [str(a) for a in body["top_accounts"]],
        list(body.get("history", [])),
    )


class NightlyHolder:
    """The nightly snapshot for a serving process, read again when the file changes (checked on
    use, one stat call); None while there is none or it cannot be read (`last_error` says why)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE
        self._current: Nightly | None = None
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def get(self) -> Nightly | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._current, self._stamp = None, None
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    try:
                        self._current, self.last_error = read_nightly(self.path), None
                    except InvalidInput as exc:
                        self._current, self.last_error = None, str(exc)
                    self._stamp = stamp
        return self._current
