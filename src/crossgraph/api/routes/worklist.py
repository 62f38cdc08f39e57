"""GET /v1/accounts: the account worklist, paged from the newest snapshot (recommend.worklist)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from crossgraph.api import schemas
from crossgraph.api.deps import ReadCall
from crossgraph.api.errors import RESPONSES
from crossgraph.api.fields import DIGITS
from crossgraph.api.views import json_response
from crossgraph.errors import GraphUnavailable, InvalidInput
from crossgraph.graph.driver import Graph
from crossgraph.recommend.nba import split_values
from crossgraph.recommend.review import build_review, to_markdown
from crossgraph.recommend.worklist import Sort, WorklistHolder
from crossgraph.settings import Settings

router = APIRouter(prefix="/v1", tags=["accounts"], responses=RESPONSES)
MAX_PAGE = 500
MAX_REVIEW = 200


def holder(request: Request, settings: Settings) -> WorklistHolder:
    """The app's one worklist holder (the API and the workspace page share it)."""
    found: WorklistHolder | None = getattr(request.app.state, "worklist", None)
    if found is None:
        found = WorklistHolder(settings.worklist_folder, every=settings.api_poll_seconds)
        request.app.state.worklist = found
    return found


@router.get("/accounts", response_model=schemas.WorklistPage)
def worklist(
    request: Request,
    call: ReadCall,
    sort: Annotated[
        Sort,
        Query(
            description="potential, open_value, revenue: highest first; last_touchpoint: longest ago first"
        ),
    ] = "potential",
    segment: Annotated[list[str], Query(description="Only these segments (repeat or comma-separate)")] = [],  # noqa: B006
    country: Annotated[list[str], Query(description="Only these countries")] = [],  # noqa: B006
    owner: Annotated[list[str], Query(description="Only accounts of these owners")] = [],  # noqa: B006
    flag: Annotated[
        list[str],
        Query(
            description="Only accounts with all these flags: upsell_talk_due, contract_ends_soon, "
            "revenue_falling, key_contact_left"
        ),
    ] = [],  # noqa: B006
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip"), DIGITS] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page"), DIGITS] = 50,
) -> Response:
    """Which accounts to work: every account's upsell potential (0-100, with its components),
    the expected value of its open opportunities and the top one, its next contract end, last
    touchpoint and flags, from the newest worklist snapshot (`crossgraph worklist refresh`, run
    after training). Filters match case-insensitively; ties are broken by account id."""
    current = holder(request, call.state.settings).get()
    total, rows = current.page(
        sort=sort,
        segment=split_values(segment),
        country=split_values(country),
        owner=split_values(owner),
        flag=split_values(flag),
        offset=offset,
        limit=limit,
    )
    body = current.body
    return json_response(
        {
            "as_of": body["as_of"],
            "model_version": body["model_version"],
            "created_at": body["created_at"],
            "total": total,
            "offset": offset,
            "limit": limit,
            "sort": sort,
            "items": rows,
        }
    )


@router.get(
    "/review",
    response_model=dict[str, Any],
    responses={
        200: {"content": {"text/markdown": {}}, "description": "JSON, or Markdown with format=markdown"}
    },
)
def review(
    call: ReadCall,
    quarter: Annotated[str, Query(max_length=8, description="The quarter, e.g. 2026Q4")],
    accounts: Annotated[list[str], Query(description="Account ids (default: the strategic accounts)")] = [],  # noqa: B006
    share: Annotated[
        float, Query(gt=0, le=1, description="Strategic accounts: the largest covering this share of revenue")
    ] = 0.8,
    format: Annotated[
        Literal["json", "markdown"], Query(description="markdown: a page to review with")
    ] = "json",
) -> Response:
    """The quarterly account review (docs/worklist.md): per strategic account, revenue against
    the quarter before, opportunities converted, new and dead since the previous quarter's kept
    list, risks raised and resolved, and the actions the plan schedules for next quarter."""
    chosen = split_values(accounts)
    if len(chosen) > MAX_REVIEW:
        raise InvalidInput(f"accounts: at most {MAX_REVIEW} per review, got {len(chosen)}")

    def run(g: Graph) -> dict[str, Any]:
        return build_review(call.engine, g, quarter, accounts=chosen, share=share, intel=call.state.intel)

    body = call.state.graph.run(run)
    if body is None:
        raise GraphUnavailable("the quarterly review needs the graph; try again shortly")
    if format == "markdown":
        return Response(to_markdown(body), media_type="text/markdown; charset=utf-8")
    return json_response(body)
