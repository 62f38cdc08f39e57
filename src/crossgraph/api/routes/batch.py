"""Many accounts in one call, for CRM bulk jobs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from crossgraph.api import schemas
from crossgraph.api.deps import GATE_KEY, EngineDep, ReadKey, StateDep
from crossgraph.api.errors import MAPPING, RESPONSES
from crossgraph.api.fields import StrictJsonRoute
from crossgraph.api.views import json_response
from crossgraph.errors import CrossgraphError, InvalidInput
from crossgraph.recommend.nba import ListOptions, parse_filters, parse_kinds, recommendation_list

router = APIRouter(
    prefix="/v1/recommendations", tags=["recommendations"], responses=RESPONSES, route_class=StrictJsonRoute
)


@router.post("/batch", response_model=schemas.BatchResponse)
async def batch(
    request: schemas.BatchRequest, engine: EngineDep, state: StateDep, key: ReadKey, http: Request
) -> Response:
    """Recommendations for up to `api_batch_max` accounts (`api_batch_max_graph` with upsell or
    renewal), from the same model version (while an experiment runs, each result from its
    account's arm, named in the result's `experiment`), and at most `api_batch_max_work` products to
    rank: accounts x limit x opportunity kinds. The
    call counts `api_rate_batch_account_cost` per account against the key's rate limit.
    An unknown account does not fail the call: it is listed under `errors` with its status."""
    settings = state.settings
    limit = settings.api_batch_max
    if len(request.accounts) > limit:
        raise InvalidInput(
            f"accounts: {len(request.accounts)} accounts in one batch, at most {limit} allowed; "
            "split the call"
        )
    options = ListOptions(
        limit=request.limit,
        filters=parse_filters(
            engine,
            request.category,
            request.kind,
            request.exclude,
            where="body",
            product_kind=request.product_kind,
        ),
        drivers=3 if request.drivers else 0,
        kinds=parse_kinds(request.kinds, where="body", opportunity=request.opportunity),
        as_of=request.as_of,
    )
    accounts = list(dict.fromkeys(request.accounts))  # each once, in the order given
    check_work(len(accounts), options, settings.api_batch_max_work, settings.api_batch_max_graph)
    # The gate spent one request of the key's rate on this call already.
    paid = 1.0 if GATE_KEY in http.scope else 0.0
    state.limiter.admit(key, max(1.0, len(accounts) * settings.api_rate_batch_account_cost), paid)
    return await run_in_threadpool(_run, engine, state, accounts, options)


def check_work(accounts: int, options: ListOptions, most: int, most_graph: int) -> None:
    """Bound one call's work: every account ranks `limit` products per opportunity kind, and
    with upsell or renewal reads its signals from Neo4j, which costs far more than the ranking
    (benchmarks/README.md: 500 accounts took about as long at limit 13 as at limit 100)."""
    if options.needs_graph and accounts > most_graph:
        raise InvalidInput(
            f"accounts: {accounts} accounts with opportunity {', '.join(options.kinds)} in one batch, "
            f"at most {most_graph} allowed (api_batch_max_graph): upsell and renewal read each account's "
            "signals from Neo4j; split the call"
        )
    kinds = len(options.kinds)
    work = accounts * options.limit * kinds
    if work > most:
        raise InvalidInput(
            f"accounts x limit x opportunity kinds = {accounts} x {options.limit} x {kinds} = {work:,} "
            f"products to rank in one batch, at most {most:,} allowed (api_batch_max_work); "
            "split the call, or ask for a smaller limit or fewer opportunity kinds"
        )


def _run(engine: EngineDep, state: StateDep, accounts: list[str], options: ListOptions) -> Response:
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for account_id in accounts:
        try:
            served, tag = state.experiments.pick(account_id, engine)
            body = recommendation_list(
                served,
                state.graph.run,
                account_id,
                replace(options, suppressed=state.suppressions.of(account_id)),
                state.intel,
            )
            results.append(state.experiments.served(body, tag))
        except CrossgraphError as exc:
            status = next(code for cls, code, _ in MAPPING if isinstance(exc, cls))
            errors.append({"account": account_id, "status": status, "message": str(exc)})
    return json_response({"model_version": engine.version, "results": results, "errors": errors})
