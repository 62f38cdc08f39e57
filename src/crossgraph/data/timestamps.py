"""Order timestamps as purchase exports write them: ISO 8601, or day/month/year with slashes.

A slashed date such as 01/12/2010 08:26 is day-first in one export and month-first (12/1/2010
8:26) in another; a single value often cannot tell. `timestamp_parser` reads every distinct
value of a column first and decides for the whole file: a first field above 12 means
day-first, a second field above 12 means month-first. A file holding both is refused, and so
is a file where no value tells (every day and month 12 or less): guessing would silently
swap days and months.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime

from crossgraph.errors import InvalidInput

_SLASHED = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?")
ISO = "ISO"
DAY_FIRST = "day-first"
MONTH_FIRST = "month-first"
FORMS = "YYYY-MM-DD HH:MM[:SS], DD/MM/YYYY HH:MM or M/D/YYYY H:MM"


def date_order(values: Iterable[str], source: str) -> str:
    """DAY_FIRST or MONTH_FIRST for the slashed values among `values` (ISO when none is slashed);
    InvalidInput when they contradict each other or none tells."""
    day_first = month_first = None
    ambiguous = None
    for value in values:
        match = _SLASHED.fullmatch(value.strip())
        if match is None:
            continue
        first, second = int(match[1]), int(match[2])
        if first > 12:
            day_first = day_first or value
        elif second > 12:
            month_first = month_first or value
        elif first != second:
            ambiguous = ambiguous or value
    if day_first and month_first:
        raise InvalidInput(
            f"{source}: the dates mix day-first ({day_first!r}) and month-first ({month_first!r}) "
            "forms; write one form (ISO YYYY-MM-DD HH:MM is never ambiguous)"
        )
    if day_first:
        return DAY_FIRST
    if month_first:
        return MONTH_FIRST
    if ambiguous:
        raise InvalidInput(
            f"{source}: dates such as {ambiguous!r} could be day-first or month-first and no date in "
            "the file tells (none has a day above 12); write ISO dates (YYYY-MM-DD HH:MM)"
        )
    return ISO


def timestamp_parser(values: Iterable[str], source: str) -> Callable[[str], datetime]:
    """A parser for one column whose distinct values are `values` (see the module doc); it
    raises ValueError naming a value in none of the known forms."""
    order = date_order(values, source)
    cache: dict[str, datetime] = {}

    def parse(value: str) -> datetime:
        found = cache.get(value)
        if found is None:
            found = cache[value] = _parse(value.strip(), order)
        return found

    return parse


def _parse(value: str, order: str) -> datetime:
    match = _SLASHED.fullmatch(value)
    if match is None:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date and time ({FORMS})") from None
    first, second = int(match[1]), int(match[2])
    day, month = (first, second) if order == DAY_FIRST else (second, first)
    try:
        return datetime(int(match[3]), month, day, int(match[4] or 0), int(match[5] or 0), int(match[6] or 0))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid {order} date and time ({exc})") from None
