"""Worklist snapshots: written atomically, the newest read, kept up to a count; rows sorted and
filtered the way a manager asks for them."""

from __future__ import annotations

import gzip
import time
from pathlib import Path
from typing import Any

import pytest

from crossgraph.errors import InvalidInput, WorklistMissing
from crossgraph.recommend.worklist import (
    FORMAT,
    Worklist,
    WorklistHolder,
    latest_snapshot,
    read_snapshot,
    write_snapshot,
)


def row(
    account: str, potential: int, value: float, revenue: float, days: int | None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": account,
        "potential": potential,
        "open_value": value,
        "revenue_12m": revenue,
        "days_since_touchpoint": days,
        "segment": extra.get("segment", "food"),
        "country": extra.get("country", "Germany"),
        "owner": extra.get("owner", "m.keller"),
        "flags": extra.get("flags", []),
    }


ROWS = [
    row("A3", 50, 100.0, 9.0, 10, owner="s.novak", flags=["upsell_talk_due"]),
    row("A1", 80, 50.0, 1.0, None, flags=["upsell_talk_due", "contract_ends_soon"]),
    row("A2", 50, 300.0, 5.0, 400, country="France"),
    row("A4", 10, 0.0, 0.0, 5, segment="metal", flags=["contract_ends_soon"]),
]


def body(rows: list[dict[str, Any]] = ROWS) -> dict[str, Any]:
    return {"format": FORMAT, "as_of": "2026-06-30", "model_version": "v1", "created_at": "x", "rows": rows}


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in rows]


def test_sorts_put_the_account_to_work_first_and_break_ties_by_id() -> None:
    worklist = Worklist(Path("w"), body())
    assert ids(worklist.select()) == ["A1", "A2", "A3", "A4"]  # A2 and A3 tie on 50
    assert ids(worklist.select(sort="open_value")) == ["A2", "A3", "A1", "A4"]
    assert ids(worklist.select(sort="revenue")) == ["A3", "A2", "A1", "A4"]
    assert ids(worklist.select(sort="last_touchpoint")) == ["A1", "A2", "A3", "A4"]  # never touched first


def test_filters_match_any_value_case_insensitively_and_flags_all_of_them() -> None:
    worklist = Worklist(Path("w"), body())
    assert ids(worklist.select(owner=["S.NOVAK", "nobody"])) == ["A3"]
    assert ids(worklist.select(country=["france"])) == ["A2"]
    assert ids(worklist.select(segment=["food"], flag=["upsell_talk_due"])) == ["A1", "A3"]
    assert ids(worklist.select(flag=["upsell_talk_due", "contract_ends_soon"])) == ["A1"]
    with pytest.raises(InvalidInput, match="flag: unknown"):
        worklist.select(flag=["hot"])


def test_snapshots_are_written_whole_kept_up_to_a_count_and_the_newest_wins(tmp_path: Path) -> None:
    folder = tmp_path / "worklist"
    paths = [write_snapshot(folder, body(ROWS[: n + 1]), keep=2) for n in range(3)]
    left = sorted(folder.iterdir())
    assert left == paths[1:]  # the oldest went; no temporary file stays behind
    assert latest_snapshot(folder) == paths[2]
    assert len(read_snapshot(paths[2])["rows"]) == 3
    assert folder.stat().st_mode & 0o777 == 0o700


def test_the_holder_serves_the_newest_and_says_how_to_make_one(tmp_path: Path) -> None:
    holder = WorklistHolder(tmp_path, every=0.0)
    with pytest.raises(WorklistMissing, match="crossgraph worklist refresh"):
        holder.get()
    write_snapshot(tmp_path, body(ROWS[:1]))
    first = holder.get()
    assert ids(first.rows) == ["A3"]  # the first snapshot is read in the call
    write_snapshot(tmp_path, body())
    assert len(holder.get().rows) in (1, 4)  # a newer one loads in the background; one of them answers
    deadline = time.monotonic() + 60
    while len(holder.get().rows) != 4:
        assert time.monotonic() < deadline, "the newer snapshot was never picked up"
        time.sleep(0.01)
    (tmp_path / "worklist-99999999.json.gz").write_bytes(b"damaged")  # sorts last: the newest
    while holder.last_error is None:
        assert time.monotonic() < deadline, "the damaged snapshot was never tried"
        holder.get()
        time.sleep(0.01)
    assert len(holder.get().rows) == 4 and "worklist-99999999.json.gz" in holder.last_error


def test_a_damaged_or_foreign_snapshot_is_refused_with_its_name(tmp_path: Path) -> None:
    broken = tmp_path / "worklist-1.json.gz"
    broken.write_bytes(b"not gzip")
    with pytest.raises(InvalidInput, match=r"worklist-1\.json\.gz is not a readable worklist snapshot"):
        read_snapshot(broken)
    other = tmp_path / "worklist-2.json.gz"
    other.write_bytes(gzip.compress(b'{"format": 99, "rows": []}'))
    with pytest.raises(InvalidInput, match="format 99"):
        read_snapshot(other)
