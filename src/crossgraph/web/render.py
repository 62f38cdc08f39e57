"""Templates (Jinja2, autoescaped) with the filters every page uses: money rounded to whole
units with thousands separators, shares as percentages, days as ISO dates."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from crossgraph.web.auth import Viewer

HERE = Path(__file__).parent
STATIC = HERE / "static"
STATIC_URL = "/static"


def money(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    rounded = round(float(value))
    return f"{rounded:,}" if rounded else "0"


def pct(value: Any) -> str:
    if value is None:
        return "-"
    return f"{float(value):.0%}"


def score(value: Any) -> str:
    """The 0-100 fit score, as a whole number (one scale on every page and in the JSON)."""
    if value is None:
        return "-"
    return f"{float(value):.0f}"


def day(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def fact(value: Any) -> str:
    """A fact behind an upsell or renewal item, as words: lists of records by their names."""
    if isinstance(value, list):
        return ", ".join(fact(v) for v in value)
    if isinstance(value, dict):
        label = value.get("name") or value.get("serial") or value.get("sku") or value.get("id")
        extra = [
            f"{k.replace('_', ' ')} {fact(v)}" for k, v in value.items() if k in ("installed", "utilization")
        ]
        return f"{label} ({', '.join(extra)})" if extra else str(label)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return pct(value) if 0 <= value <= 1 else money(value)
    return str(value)


def _static(name: str) -> str:
    return f"{STATIC_URL}/{name}?v={_versions.get(name, '0')}"


_versions: dict[str, str] = {}
for _f in STATIC.glob("*"):  # cache-busting suffix: the file's size and mtime
    _versions[_f.name] = f"{int(_f.stat().st_mtime)}{_f.stat().st_size}"

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(money=money, pct=pct, score=score, day=day, fact=fact)
env.globals["static"] = _static


def page(
    request: Request,
    template: str,
    viewer: Viewer | None,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    html = env.get_template(template).render(request=request, viewer=viewer, **(context or {}))
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["cache-control"] = "no-store"  # pages hold account data
    return response


def fragment(template: str, name: str, **context: Any) -> str:
    """One macro of a template, rendered alone (for fetch()-loaded parts of a page)."""
    macro = getattr(env.get_template(template).module, name)
    return str(macro(**context))
