"""User-given days and times: one strict format, one range (crossgraph.dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crossgraph.dates import FIRST_DAY, LAST_DAY, parse_day, read_day, read_time
from crossgraph.errors import InvalidInput


def test_a_day_is_yyyy_mm_dd_within_the_range_and_nothing_else() -> None:
    assert read_day("2026-06-30") == date(2026, 6, 30)
    assert (read_day("1900-01-01"), read_day("2999-12-31")) == (FIRST_DAY, LAST_DAY)
    for text in ("0", "20260630", "2026-W27-2", "2026-6-30", " 2026-06-30", "2026-06-30T00:00", "2026-02-30"):
        with pytest.raises(ValueError, match="is not a date"):
            read_day(text)
    for text in ("0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"):
        with pytest.raises(
            ValueError, match="out of range \\(expected a day between 1900-01-01 and 2999-12-31\\)"
        ):
            read_day(text)
    with pytest.raises(InvalidInput, match=r"^--as-of 9999-12-31 is out of range"):
        parse_day("9999-12-31")


def test_a_time_is_iso_8601_with_its_day_within_the_range() -> None:
    assert read_time("2026-06-30T14:05:00Z") == datetime(2026, 6, 30, 14, 5, tzinfo=UTC)
    assert read_time("2026-06-30 14:05").tzinfo is None  # no offset: the caller reads it as UTC
    assert read_time("2999-12-31T23:59:59.5+00:00").year == 2999
    for text in ("1700000000", "2026-06-30", "2026-06-30T14", "2026-06-30T25:00:00Z"):
        with pytest.raises(ValueError, match="is not a date-time"):
            read_time(text)
    with pytest.raises(ValueError, match="out of range"):
        read_time("9999-12-31T23:59:59Z")
