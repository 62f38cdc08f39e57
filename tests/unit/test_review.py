"""The quarterly review's pure parts: quarters, and which accounts are strategic."""

from __future__ import annotations

from datetime import date

import pytest

from crossgraph.errors import InvalidInput
from crossgraph.recommend.review import bounds, following, parse_quarter, previous, strategic


def test_quarters_parse_and_border_where_a_calendar_says() -> None:
    assert parse_quarter("2026Q4") == parse_quarter("2026-q4") == (2026, 4)
    assert bounds((2026, 4)) == (date(2026, 10, 1), date(2027, 1, 1))
    assert bounds((2026, 1)) == (date(2026, 1, 1), date(2026, 4, 1))
    assert previous((2026, 1)) == (2025, 4) and following((2026, 4)) == (2027, 1)
    for bad in ("2026Q5", "2026", "Q4", "26Q1", "0999Q1"):
        with pytest.raises(InvalidInput, match="quarter"):
            parse_quarter(bad)


def test_strategic_accounts_are_the_smallest_set_covering_the_share() -> None:
    rows = [{"id": a, "revenue": r} for a, r in (("A", 50.0), ("B", 25.0), ("C", 15.0), ("D", 10.0))]
    assert [r["id"] for r in strategic(rows, 0.8)] == ["A", "B", "C"]  # 75 % is not enough, 90 % is
    assert [r["id"] for r in strategic(rows, 0.75)] == ["A", "B"]  # exactly reached
    assert [r["id"] for r in strategic(rows, 0.5)] == ["A"]
    assert [r["id"] for r in strategic(rows, 1.0)] == ["A", "B", "C", "D"]
    assert strategic([{"id": "Z", "revenue": 0.0}], 0.8) == []
