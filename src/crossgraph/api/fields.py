"""Strict types at the HTTP boundary: what a client sends is read one way only.

Days are YYYY-MM-DD and date-times ISO 8601, within crossgraph.dates' range (never a number read
as seconds since 1970); whole numbers in a query are plain digits (not 5.0, +5 or 5_0); JSON
bodies hold JSON (NaN and Infinity are not JSON numbers) with no bool or float where an integer
belongs and no bool where a number belongs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from datetime import date, datetime
from typing import Annotated, Any, NoReturn

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BeforeValidator, Field

from crossgraph.dates import check_day, read_day, read_time

_DIGITS = re.compile(r"-?[0-9]{1,18}")


def _day(value: object) -> object:
    if isinstance(value, str):
        return read_day(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return check_day(value)
    raise ValueError("expected a date as text, YYYY-MM-DD")


def _time(value: object) -> object:
    if isinstance(value, str):
        return read_time(value)
    if isinstance(value, datetime):
        check_day(value.date())
        return value
    raise ValueError("expected a date-time as text, YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]")


def _whole(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise ValueError("expected a whole number in plain digits")


Day = Annotated[date, BeforeValidator(_day)]
Time = Annotated[datetime, BeforeValidator(_time)]
# A query integer: Annotated[int, Query(ge=..., le=...), DIGITS]. After the Query, not in an
# alias before it: FastAPI then documents the bounds as minimum and maximum.
DIGITS = BeforeValidator(_whole)
# In a JSON body: an integer, not 5.0 or true; a finite number, not true, NaN or Infinity.
BodyInt = Annotated[int, Field(strict=True)]
BodyFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
BodyBool = Annotated[bool, Field(strict=True)]


def _not_json(doc: str) -> Callable[[str], NoReturn]:
    def refuse(name: str) -> NoReturn:
        raise json.JSONDecodeError(f"{name} is not a JSON number", doc, doc.find(name))

    return refuse


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            raw = await self.body()
            try:
                doc = raw.decode("utf-8")
            except UnicodeDecodeError as exc:  # JSON is UTF-8 (RFC 8259): a 422 as for bad JSON
                raise json.JSONDecodeError("the body is not UTF-8", "", 0) from exc
            self._json = json.loads(doc, parse_constant=_not_json(doc))
        return self._json


class StrictJsonRoute(APIRoute):
    """Reads JSON bodies with NaN, Infinity and -Infinity refused (Python's json accepts them):
    a 422 naming the position, as for any malformed JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
