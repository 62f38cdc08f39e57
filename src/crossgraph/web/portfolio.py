"""Portfolio-wide pages for managers (worklist, whitespace, KPIs) and the model page."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
