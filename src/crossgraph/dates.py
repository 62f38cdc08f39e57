"""Dates given by users (options, parameters, request bodies): one strict parser, one range,
one error message; and the one default "as of" day of KPIs, plans and recommendations."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from crossgraph.errors import InvalidInput

# Every day a user gives must lie in this range: far enough either side of any business
# date, and far from the ends of Python's and Neo4j's calendars, so that the day plus or minus
# the windows of signals, KPIs and suppressions (years at most) is still a valid date.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
DAY_RANGE = f"between {FIRST_DAY} and {LAST_DAY}"

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# An ISO 8601 time of day after the day, with an optional offset (Z or +HH:MM).
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?"
)


def read_day(text: str) -> date:
    """'2026-06-30' -> date; anything else (another format, a number, a day out of range) is a
    ValueError saying what is expected."""
    if not _DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD)")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None
    return check_day(day)


def read_time(text: str) -> datetime:
    """'2026-06-30T14:05:00Z' (offset optional) -> datetime, its day in the range of read_day."""
    if not _TIME.fullmatch(text):
        raise ValueError(f"{text!r} is not a date-time (expected YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM])")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date-time of the calendar") from None
    check_day(at.date())
    return at


def check_day(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{day} is out of range (expected a day {DAY_RANGE})")
    return day


def parse_day(text: str, option: str = "--as-of") -> date:
    """'2026-06-30' -> date; anything else is an InvalidInput naming the option."""
    try:
        return read_day(text)
    except ValueError as exc:
        raise InvalidInput(f"{option} {exc}") from None


def today() -> date:
    """The default as-of day everywhere (KPIs, plans, next-best actions): today in UTC, so every
    worker and the CLI agree whatever the machine's time zone."""
    return datetime.now(UTC).date()


def parse_cutoff(text: str, option: str = "--cutoff") -> datetime:
    """A cutoff day as the datetime at its start (midnight)."""
    return datetime.combine(parse_day(text, option), time())
