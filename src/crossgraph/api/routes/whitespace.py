"""The whitespace matrix for account planning: accounts x products or categories."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from crossgraph.api import schemas
from crossgraph.api.deps import EngineDep, ReadKey, StateDep
from crossgraph.api.errors import RESPONSES
from crossgraph.api.fields import DIGITS
from crossgraph.api.routes.kpis import nightly
from crossgraph.api.views import json_response
from crossgraph.errors import InvalidInput
from crossgraph.recommend.nba import split_values
from crossgraph.recommend.whitespace import Ranking, build_whitespace

MAX_ACCOUNTS = 200
router = APIRouter(prefix="/v1", tags=["accounts"], responses=RESPONSES)


@router.get(
    "/whitespace",
    response_model=schemas.WhitespaceMatrix,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def whitespace(
    request: Request,
    engine: EngineDep,
    state: StateDep,
    _: ReadKey,
    accounts: Annotated[list[str], Query(description="Account ids (repeat or comma-separate)")] = [],  # noqa: B006
    top: Annotated[
        int, Query(ge=1, le=200, description="Without accounts: the top N by revenue"), DIGITS
    ] = 20,
    by: Annotated[
        Literal["product", "category"], Query(description="Columns: products or categories")
    ] = "product",
    columns: Annotated[list[str], Query(description="Skus or categories; default the most owned")] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=200, description="Columns when none are given"), DIGITS] = 30,
    format: Annotated[Literal["json", "csv"], Query(description="csv: one row per cell")] = "json",
) -> Response:
    """Each cell says owned (with revenue) or, if open, the account's 0-100 score, the rank in
    the account's list and the share of its closest peers owning it. Rows: the accounts in the
    order given, else the top accounts by revenue (largest first, ties by id), as `row_order`
    says: as the nightly `crossgraph worklist refresh` ranked them (a note says when), or ranked
    on the call before its first run; columns: as given, else the most owned products (ties by
    sku) or categories by name."""
    chosen = split_values(accounts)
    if len(chosen) > MAX_ACCOUNTS:
        raise InvalidInput(f"accounts: at most {MAX_ACCOUNTS} per matrix, got {len(chosen)}; split the call")
    snapshot = nightly(request, state.settings).get()
    matrix = build_whitespace(
        engine,
        state.graph.run_report,
        ranking=None if snapshot is None else Ranking(snapshot.top_accounts, snapshot.computed_at),
        accounts=chosen,
        top=top,
        by=by,
        columns=split_values(columns),
        limit=limit,
    )
    if format == "csv":
        return Response(
            matrix.to_csv(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="whitespace-{matrix.model_version}.csv"'},
        )
    return json_response(matrix.to_dict())
