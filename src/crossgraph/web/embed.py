"""The CRM sidebar widget: /embed/sidebar?token=... shows one account's next-best actions.

The token (minted by the CRM's server, see tokens.mint_embed and docs/embedding.md) is the only
credential: the page and its calls (feedback, "shown" events, the evidence behind an item)
carry it as a bearer token and reach nothing but the token's account."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from crossgraph.api.views import product_evidence
from crossgraph.recommend.actions import KINDS
from crossgraph.recommend.nba import ListOptions, recommendation_list, split_values
from crossgraph.web.auth import WebState, web
from crossgraph.web.feedback import Shown, WebFeedback, give_feedback
from crossgraph.web.render import fragment, page
from crossgraph.web.tokens import EmbedGrant, EmbedRefused, check_embed

router = APIRouter(prefix="/embed", include_in_schema=False)


def _grant(w: WebState, token: str | None, account_id: str | None = None) -> EmbedGrant:
    s = w.state.settings
    return check_embed(
        w.embed_secret,
        token,
        account_id=account_id,
        max_ttl=timedelta(seconds=s.embed_max_ttl_seconds),
        leeway=timedelta(seconds=s.embed_leeway_seconds),
    )


async def bearer_grant(request: Request, authorization: Annotated[str | None, Header()] = None) -> EmbedGrant:
    token = authorization[7:] if authorization and authorization.lower().startswith("bearer ") else None
    return _grant(web(request), token)


Grant = Annotated[EmbedGrant, Depends(bearer_grant)]


@router.get("/sidebar", response_class=HTMLResponse)
async def sidebar(
    request: Request,
    token: Annotated[str | None, Query(max_length=4096)] = None,
    account: Annotated[str | None, Query(max_length=200, description="Must match the token")] = None,
    limit: Annotated[int | None, Query(ge=1, le=10)] = None,
    kinds: Annotated[list[str], Query()] = [],  # noqa: B006
) -> HTMLResponse:
    """The widget. `limit` and `kinds` narrow what the token allows; they never widen it."""
    w = web(request)
    try:
        grant = _grant(w, token, account)
    except EmbedRefused as exc:
        return page(request, "embed_error.html", None, {"message": str(exc)}, status_code=403)
    chosen = tuple(k for k in KINDS if k in (split_values(kinds) or grant.kinds) and k in grant.kinds)
    state = w.state
    engine, tag = state.experiments.pick(grant.account_id, state.holder.engine)  # its arm's model
    options = ListOptions(
        limit=min(limit or grant.limit, grant.limit),
        kinds=chosen or grant.kinds,
        suppressed=state.suppressions.of(grant.account_id),
    )
    body = await run_in_threadpool(
        recommendation_list, engine, state.graph.run, grant.account_id, options, state.intel
    )
    state.experiments.served(body, tag)  # counted as shown for the arm
    context = {
        "account": body["account"],
        "items": body["items"],
        "events": [e for e in body["events"] if e["boosted_skus"]][:2],  # those behind the list
        "notes": body["notes"],
        "partial": body["partial"],
        "model_version": body["model_version"],
        "token": token,
    }
    return page(request, "sidebar.html", None, context)


@router.post("/feedback")
async def feedback(request: Request, body: WebFeedback, grant: Grant) -> JSONResponse:
    """Accept / Dismiss / Won / Lost from the widget, for the token's account only."""
    state = web(request).state
    user = grant.user or "embed"
    recorded = await run_in_threadpool(give_feedback, state, grant.account_id, user, body)
    return JSONResponse({"id": recorded.feedback.id, "action": body.action}, status_code=201)


@router.post("/shown")
async def shown(request: Request, body: Shown, grant: Grant) -> JSONResponse:
    """One "shown" event per item per display (the denominator of the acceptance rate)."""
    state = web(request).state
    user = grant.user or "embed"

    def record() -> int:
        for item in body.items:
            give_feedback(
                state,
                grant.account_id,
                user,
                WebFeedback(sku=item.sku, action="shown", kind=item.kind, signal=item.signal),
            )
        return len(body.items)

    return JSONResponse({"recorded": await run_in_threadpool(record)}, status_code=201)


@router.get("/why/{sku}", response_class=HTMLResponse)
async def why(request: Request, sku: Annotated[str, Path(max_length=200)], grant: Grant) -> HTMLResponse:
    """The full evidence for one product of the token's account, as a fragment of the widget."""
    state = web(request).state
    engine, _ = state.experiments.pick(grant.account_id, state.holder.engine)
    evidence = await run_in_threadpool(product_evidence, engine, state.graph, grant.account_id, sku)
    return HTMLResponse(fragment("macros.html", "evidence_body", ev=evidence))
