"""The portfolio figures precomputed by the nightly run, so that whole-graph answers come from a
file: the KPIs of the reporting day and the accounts ranked by revenue.

Computing the KPIs reads every order line of two years from the graph (seconds on 10k accounts,
a minute on 100k), and ranking the accounts by revenue reads every purchase. `crossgraph
worklist refresh` (run after the nightly `crossgraph train`, see training/) computes both and
writes `nightly.json` next to the worklist snapshots (CROSSGRAPH_WORKLIST_DIR, default
`<data_dir>/worklist/`), atomically. The API answers `GET /v1/kpis` without `as_of` (or with
the file's own `as_of`) from it, and `GET /v1/whitespace` without accounts takes its rows from
the ranking; any other day, a different CROSSGRAPH_KPI_CAC, or no file yet is computed from the
graph on the call, as before. Purchases and contracts recorded after the refresh count from the
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
from crossgraph.intel.kpis import KPIs
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


def write_nightly(
    folder: Path, kpis: KPIs, top_accounts: Sequence[str], *, computed_at: datetime | None = None
) -> Path:
    """`folder`/nightly.json, replaced atomically (a temporary file, then a rename).
    `top_accounts`: account ids by total revenue, largest first (graph.live.top_accounts)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    at = computed_at or datetime.now(UTC)
    body = {
        "format": FORMAT,
        "computed_at": at.astimezone(UTC).isoformat(timespec="seconds"),
        "kpis": kpi_answer(kpis, at, precomputed=True),
        "top_accounts": list(top_accounts),
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
    ):
        raise InvalidInput(
            f"{path} is not a nightly snapshot of format {FORMAT}; run `crossgraph worklist refresh`"
        )
    return Nightly(path, str(body["computed_at"]), body["kpis"], [str(a) for a in body["top_accounts"]])


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
