"""Per-account endpoints: next-best products, similar accounts, evidence for one product."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from crossgraph.api import schemas
from crossgraph.api.deps import ReadCall
from crossgraph.api.errors import RESPONSES
from crossgraph.api.fields import DIGITS, Day
from crossgraph.api.views import account_ref, json_response, product_evidence
from crossgraph.recommend.nba import (
    ListOptions,
    live_account,
    parse_filters,
    parse_kinds,
    recommendation_list,
)
from crossgraph.recommend.plan import build_plan, to_markdown

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], responses=RESPONSES)

AccountId = Annotated[str, Path(min_length=1, max_length=200, description="Account id", examples=["A00042"])]


@router.get("/{account_id}/recommendations", response_model=schemas.RecommendationList)
async def recommendations(
    account_id: AccountId,
    call: ReadCall,
    limit: Annotated[int, Query(ge=1, le=schemas.MAX_ITEMS, description="How many products"), DIGITS] = 10,
    category: Annotated[
        list[str],
        Query(
            description="Only these categories (repeat or comma-separate; any case); "
            "an unknown one is a 422 listing the valid ones"
        ),
    ] = [],  # noqa: B006
    product_kind: Annotated[
        list[str],
        Query(
            description="Only these product kinds: machine, part, service, ... (any case); "
            "an unknown one is a 422 listing the valid ones. Matches the items' product_kind"
        ),
    ] = [],  # noqa: B006
    kind: Annotated[
        list[str],
        Query(
            description="Deprecated: the old name of product_kind (easy to confuse with opportunity)",
            deprecated=True,
        ),
    ] = [],  # noqa: B006
    exclude: Annotated[
        list[str],
        Query(description="Skus not to suggest (e.g. just quoted); dismissed ones are left out anyway"),
    ] = [],  # noqa: B006
    drivers: Annotated[bool, Query(description="Include the owned products that drive each score")] = True,
    opportunity: Annotated[
        list[str],
        Query(
            description="Opportunity kinds: cross_sell (default; from the model, no database) and/or upsell, "
            "renewal (from the graph); with more than cross_sell the list is ranked by expected value. "
            "Matches the items' kind"
        ),
    ] = [],  # noqa: B006
    kinds: Annotated[
        list[str],
        Query(
            description="Deprecated: the old name of opportunity (easy to confuse with product_kind)",
            deprecated=True,
        ),
    ] = [],  # noqa: B006
    as_of: Annotated[
        Day | None,
        Query(
            description="Judge contracts, asset ages and events at the end of this day "
            "(default: today in UTC, as for plans and KPIs)"
        ),
    ] = None,
) -> Response:
    """Next-best actions for the account, best first, each with a reason a rep can say out loud.
    Cross-sell comes from the model with peer evidence and drivers; accounts newer than the model
    get segment popularity, labelled so. Upsell and renewal come from the graph (installed base,
    contracts, purchases, trigger events) and are fused by expected value. While an experiment
    runs, the account's arm answers and is named in `experiment` (docs/experiments.md)."""
    state = call.state
    engine, tag = state.experiments.pick(account_id, call.engine)
    options = ListOptions(
        limit=limit,
        filters=parse_filters(engine, category, kind, exclude, product_kind=product_kind),
        drivers=3 if drivers else 0,
        kinds=parse_kinds(kinds, opportunity=opportunity),
        as_of=as_of,
        suppressed=state.suppressions.of(account_id),
    )
    if account_id in engine.account_index and not options.needs_graph:  # in memory: on the event loop
        body = recommendation_list(engine, state.graph.run, account_id, options, state.intel)
    else:
        body = await run_in_threadpool(
            recommendation_list, engine, state.graph.run, account_id, options, state.intel
        )
    return json_response(state.experiments.served(body, tag))


@router.get("/{account_id}/similar", response_model=schemas.SimilarList)
async def similar(
    account_id: AccountId,
    call: ReadCall,
    limit: Annotated[int, Query(ge=1, le=100, description="How many peers"), DIGITS] = 10,
    lacking: Annotated[int, Query(ge=0, le=50, description="Products per peer that you lack"), DIGITS] = 5,
) -> schemas.SimilarList:
    """The account's closest peers (ALS account factors): similarity, shared products, segment,
    and what they own that this account does not."""
    state = call.state
    engine, _ = state.experiments.pick(account_id, call.engine)  # in an experiment: its arm's model
    index = engine.account_index.get(account_id)
    if index is None:
        live = await run_in_threadpool(live_account, engine, state.graph.run, account_id)
        return schemas.SimilarList(
            account=schemas.AccountRef(id=account_id, name=_opt(live.get("name")), in_model=False),
            model_version=engine.version,
            peers=[],
        )
    fit = engine.fit_scores(index)
    peers = [
        schemas.SimilarAccount(
            id=s.peer.id,
            name=s.peer.name,
            industry=s.industry,
            country=s.country,
            similarity=round(s.peer.similarity, 4),
            shared_products=s.shared_products,
            products_they_own_you_lack=[
                schemas.ScoredProduct(**engine.product_dict(i), score=fit[i]) for i in s.lacking
            ],
        )
        for s in engine.similar_accounts(index, limit, lacking)
    ]
    return schemas.SimilarList(account=account_ref(engine, index), model_version=engine.version, peers=peers)


@router.get("/{account_id}/evidence/{sku}", response_model=schemas.ProductEvidence)
def evidence(
    account_id: AccountId,
    sku: Annotated[str, Path(min_length=1, max_length=200, description="Product sku")],
    call: ReadCall,
) -> schemas.ProductEvidence:
    """Everything to pitch one product: which of the closest peers bought it, when and how
    often, what they owned before buying it, and the owned products that drive the score."""
    engine, _ = call.state.experiments.pick(account_id, call.engine)  # in an experiment: its arm's model
    return product_evidence(engine, call.state.graph, account_id, sku)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


@router.get(
    "/{account_id}/plan",
    response_model=dict[str, Any],
    responses={
        200: {"content": {"text/markdown": {}}, "description": "JSON, or Markdown with format=markdown"}
    },
)
def plan(
    account_id: AccountId,
    call: ReadCall,
    as_of: Annotated[
        Day | None, Query(description="Plan as of the end of this day (default: today in UTC, as for KPIs)")
    ] = None,
    top: Annotated[int, Query(ge=1, le=30, description="How many opportunities"), DIGITS] = 8,
    format: Annotated[
        Literal["json", "markdown"], Query(description="markdown: a page a rep can read")
    ] = "json",
) -> Response:
    """The account plan: installed base, contracts and end dates, revenue per year and trend, last
    purchase, top opportunities with evidence, risks, and suggested actions per quarter."""
    engine, _ = call.state.experiments.pick(account_id, call.engine)  # in an experiment: its arm's model
    body = build_plan(
        engine,
        call.state.graph.run,
        account_id,
        as_of=as_of,
        intel=call.state.intel,
        top=top,
        suppressed=call.state.suppressions.of(account_id),
    )
    if format == "markdown":
        return Response(to_markdown(body), media_type="text/markdown; charset=utf-8")
    return json_response(body)
