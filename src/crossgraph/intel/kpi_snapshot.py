"""The KPIs precomputed by the nightly run, so that `GET /v1/kpis` answers from a file.

Computing the KPIs reads every order line of two years from the graph: seconds on 10k accounts,
a minute on 100k. `crossgraph worklist refresh` (run after the nightly `crossgraph train`, see
training/) computes them for its reporting day and writes `kpis.json` next to the worklist
snapshots (CROSSGRAPH_WORKLIST_DIR, default `<data_dir>/worklist/`), atomically. The API answers
a call without `as_of`, or with the snapshot's own `as_of`, from that file (its `computed_at`
says when it was computed); any other day, a different CROSSGRAPH_KPI_CAC, or no snapshot yet
is computed from the graph on the call, as before. Purchases and contracts recorded after the
refresh show at the next one.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from crossgraph.errors import InvalidInput
from crossgraph.intel.kpis import KPIs
from crossgraph.money import cents

FORMAT = 1
FILE = "kpis.json"


def answer(kpis: KPIs, computed_at: datetime, *, precomputed: bool) -> dict[str, Any]:
    """The body of GET /v1/kpis: the figures, when they were computed and whether from the snapshot."""
    return {
        **kpis.to_dict(),
        "computed_at": computed_at.astimezone(UTC).isoformat(timespec="seconds"),
        "precomputed": precomputed,
    }


def write_kpi_snapshot(folder: Path, kpis: KPIs, *, computed_at: datetime | None = None) -> Path:
    """`folder`/kpis.json, replaced atomically (a temporary file, then a rename)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = {
        "format": FORMAT,
        "kpis": answer(kpis, computed_at or datetime.now(UTC), precomputed=True),
    }
    target = folder / FILE
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".kpis-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(orjson.dumps(body))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


@dataclass(frozen=True)
class KPISnapshot:
    path: Path
    body: dict[str, Any]  # what GET /v1/kpis answers

    @property
    def as_of(self) -> date:
        return date.fromisoformat(self.body["as_of"])

    def answers(self, as_of: date | None, cac: float | None) -> bool:
        """Whether this snapshot is the answer for a call asking `as_of` (None: the newest day)
        with the configured acquisition cost `cac` (CLV/CAC depends on it)."""
        stored = self.body.get("acquisition_cost")
        same_cac = (stored is None and cac is None) or (
            stored is not None and cac is not None and cents(cac) == stored
        )
        return same_cac and (as_of is None or as_of == self.as_of)


def read_kpi_snapshot(path: Path) -> KPISnapshot:
    try:
        body = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InvalidInput(f"{path} is not a readable KPI snapshot: {exc}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT or not isinstance(body.get("kpis"), dict):
        raise InvalidInput(
            f"{path} is not a KPI snapshot of format {FORMAT}; run `crossgraph worklist refresh`"
        )
    return KPISnapshot(path, body["kpis"])


class KPISnapshotHolder:
    """The snapshot for a serving process, read again when the file changes (checked on use,
    one stat call); None while there is none or it cannot be read (`last_error` says why)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE
        self._current: KPISnapshot | None = None
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def get(self) -> KPISnapshot | None:
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
                        self._current, self.last_error = read_kpi_snapshot(self.path), None
                    except InvalidInput as exc:
                        self._current, self.last_error = None, str(exc)
                    self._stamp = stamp
        return self._current
