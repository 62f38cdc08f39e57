"""Dates given by users (options, parameters): one parser, one error message; and the one
default "as of" day of KPIs, plans and recommendations."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from crossgraph.errors import InvalidInput


def parse_day(text: str, option: str = "--as-of") -> date:
    """'2026-06-30' -> date; anything else is an InvalidInput naming the option."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{option} {text!r} is not a date (expected YYYY-MM-DD)") from None


def today() -> date:
    """The default as-of day everywhere (KPIs, plans, next-best actions): today in UTC, so every
    worker and the CLI agree whatever the machine's time zone."""
    return datetime.now(UTC).date()


def parse_cutoff(text: str, option: str = "--cutoff") -> datetime:
    """A cutoff day as the datetime at its start (midnight)."""
    return datetime.combine(parse_day(text, option), time())
