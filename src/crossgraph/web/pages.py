"""Workspace pages for people who sign in: sign-in, search, the account page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from crossgraph.api.views import product_evidence
from crossgraph.dates import today
from crossgraph.errors import GraphUnavailable
from crossgraph.recommend.actions import KINDS
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.nba import ListOptions, account_dict, recommendation_list
from crossgraph.recommend.plan import build_plan, to_markdown
from crossgraph.web import charts
from crossgraph.web.auth import COOKIE, Rep, viewer_of, web
from crossgraph.web.feedback import Shown, WebFeedback, give_feedback
from crossgraph.web.pdf import plan_pdf
from crossgraph.web.render import fragment, page
from crossgraph.web.tokens import mint_session
from crossgraph.web.users import check_password

router = APIRouter(include_in_schema=False)
AccountId = Annotated[str, Path(min_length=1, max_length=200)]
SEARCH_LIMIT = 50


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=303)


@router.get("/ui/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/ui/") -> HTMLResponse:
    header = web(request).state.settings.web_trusted_user_header
    if header:  # people sign in at the company's SSO; the proxy names them
        name = request.headers.get(header)
        message = (
            f"{name} has no crossgraph account; ask an admin (crossgraph user create {name} --role rep)."
            if name
            else "This service signs you in through your company's single sign-on, and the request "
            "came without it. Open it through the company portal."
        )
        return page(request, "login.html", None, {"sso": True, "error": message}, 403)
    return page(request, "login.html", None, {"next_url": _local(next)})


@router.post("/ui/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/ui/",
) -> Response:
    w = web(request)
    if w.state.settings.web_trusted_user_header:  # no passwords behind the SSO proxy
        return await login_form(request)
    client = request.client.host if request.client else "unknown"
    keys = (f"user:{username}", f"ip:{client}")
    wait = w.limiter.retry_after(*keys)
    context = {"next_url": _local(next), "username": username}
    if wait:
        message = f"Too many failed sign-ins. Try again in {wait // 60 + 1} minute(s)."
        return page(
            request, "login.html", None, {**context, "error": message}, 429, {"Retry-After": str(wait)}
        )
    user = await run_in_threadpool(check_password, w.state.settings.users_path, username, password)
    if user is None:
        w.limiter.failed(*keys)
        return page(request, "login.html", None, {**context, "error": "Wrong user name or password."}, 401)
    w.limiter.succeeded(keys[0])
    hours = w.state.settings.web_session_hours
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        COOKIE,
        mint_session(w.secret, user.name, user.role, hours),
        max_age=int(hours * 3600),
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
        path="/",
    )
    return response


@router.post("/ui/logout")
async def logout(viewer: Rep) -> RedirectResponse:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/ui/")
async def home(request: Request) -> Response:
    viewer = viewer_of(request)
    if viewer is None:
        return RedirectResponse("/ui/login", status_code=303)
    return RedirectResponse("/ui/worklist" if viewer.may("manager") else "/ui/search", status_code=303)


@router.get("/ui/search", response_class=HTMLResponse)
async def search(request: Request, viewer: Rep, q: Annotated[str, Query(max_length=200)] = "") -> Response:
    engine = web(request).state.holder.engine
    query = q.strip()
    if query in engine.account_index:  # an exact id opens the account
        return RedirectResponse(f"/ui/accounts/{quote(query, safe='')}", status_code=303)
    found = find_accounts(engine, query, SEARCH_LIMIT + 1) if query else []
    context = {"query": query, "results": found[:SEARCH_LIMIT], "more": len(found) > SEARCH_LIMIT}
    return page(request, "search.html", viewer, context)


def find_accounts(engine: Engine, query: str, limit: int) -> list[dict[str, Any]]:
    """Accounts whose id or name contains `query` (any case): ids that start with it first."""
    needle = query.casefold()
    hits: list[tuple[int, int]] = []
    for i, (account_id, name) in enumerate(zip(engine.account_ids, engine.account_names, strict=True)):
        key = account_id.casefold()
        if key.startswith(needle):
            hits.append((0, i))
        elif needle in key or needle in (name or "").casefold():
            hits.append((1, i))
    hits.sort()
    return [account_dict(engine, i) for _, i in hits[:limit]]


@router.get("/ui/accounts/{account_id}", response_class=HTMLResponse)
async def account_page(request: Request, account_id: AccountId, viewer: Rep) -> HTMLResponse:
    """One graph pass: the plan holds the next-best actions (fused, without what the account's
    reps dismissed or won) next to the live facts; with Neo4j down, the model's list alone."""
    state = web(request).state
    engine, tag = state.experiments.pick(account_id, state.holder.engine)  # its arm's model
    day = today()
    suppressed = state.suppressions.of(account_id)
    plan: dict[str, Any] | None
    try:
        plan = await run_in_threadpool(
            build_plan, engine, state.graph.run, account_id,
            as_of=day, intel=state.intel, top=8, suppressed=suppressed,
        )  # fmt: skip
        body = {"account": plan["account"], "items": plan["opportunities"], "notes": plan["notes"]}
    except GraphUnavailable:
        plan = None
        options = ListOptions(limit=8, kinds=KINDS, suppressed=suppressed, as_of=day)
        body = await run_in_threadpool(
            recommendation_list, engine, state.graph.run, account_id, options, state.intel
        )
    state.experiments.served(body, tag)  # counted as shown for the arm
    index = engine.account_index.get(account_id)
    similar = engine.similar_accounts(index, 8, 3) if index is not None else []
    context = {
        "account": body["account"],
        "items": body["items"],
        "notes": body["notes"],
        "partial": plan is None,
        "model_version": engine.version,
        "plan": plan,
        "similar": similar,
        "engine": engine,
        "revenue_chart": _revenue_chart(plan),
        "contract_chart": _contract_chart(plan, day),
        "today": day,
        "account_path": quote(account_id, safe=""),
    }
    return page(request, "account.html", viewer, context)


def _revenue_chart(plan: dict[str, Any] | None) -> Any:
    if not plan:
        return None
    per_year = plan["revenue"]["per_year"]
    return charts.bars([(y, float(v)) for y, v in per_year.items()], label="Revenue per year")


def _contract_chart(plan: dict[str, Any] | None, today: date) -> Any:
    if not plan:
        return None
    spans = []
    for c in plan["contracts"]:
        ends = date.fromisoformat(c["ends_at"])
        tone = "ended" if ends < today else "soon" if c["days_left"] <= 90 else "normal"
        label = f"{c['id']} {c['level']}"
        spans.append(charts.Span(label, date.fromisoformat(c["starts_at"]), ends, tone))
    return charts.timeline(spans, today, label="Contracts and their end dates")


@router.get("/ui/accounts/{account_id}/plan.md")
async def plan_markdown(request: Request, account_id: AccountId, viewer: Rep) -> Response:
    return await _plan_download(request, account_id, to_markdown, "text/markdown; charset=utf-8", "md")


@router.get("/ui/accounts/{account_id}/plan.pdf")
async def plan_pdf_download(request: Request, account_id: AccountId, viewer: Rep) -> Response:
    return await _plan_download(request, account_id, plan_pdf, "application/pdf", "pdf")


async def _plan_download(
    request: Request,
    account_id: str,
    render: Callable[[dict[str, Any]], str | bytes],
    media_type: str,
    suffix: str,
) -> Response:
    """The account plan, as the account page shows it, rendered as a file to download."""
    state = web(request).state

    def build() -> str | bytes:
        engine, _ = state.experiments.pick(account_id, state.holder.engine)
        plan = build_plan(
            engine, state.graph.run, account_id,
            intel=state.intel, top=8, suppressed=state.suppressions.of(account_id),
        )  # fmt: skip
        return render(plan)

    name = f"plan-{download_name(account_id)}.{suffix}"
    return Response(
        await run_in_threadpool(build),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/ui/accounts/{account_id}/feedback")
async def account_feedback(
    request: Request, account_id: AccountId, body: WebFeedback, viewer: Rep
) -> JSONResponse:
    state = web(request).state
    recorded = await run_in_threadpool(give_feedback, state, account_id, viewer.user.name, body)
    return JSONResponse({"id": recorded.feedback.id, "action": body.action}, status_code=201)


@router.get("/ui/accounts/{account_id}/why/{sku}", response_class=HTMLResponse)
async def account_why(
    request: Request, account_id: AccountId, sku: Annotated[str, Path(max_length=200)], viewer: Rep
) -> HTMLResponse:
    state = web(request).state
    engine, _ = state.experiments.pick(account_id, state.holder.engine)
    evidence = await run_in_threadpool(product_evidence, engine, state.graph, account_id, sku)
    return HTMLResponse(fragment("macros.html", "evidence_body", ev=evidence))


def _local(target: str) -> str:
    """Only same-site paths after sign-in (no open redirect to another host)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/ui/"


def download_name(account_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in account_id)[:80]


@router.post("/ui/accounts/{account_id}/shown")
async def account_shown(request: Request, account_id: AccountId, body: Shown, viewer: Rep) -> JSONResponse:
    state = web(request).state

    def record() -> int:
        for item in body.items:
            give_feedback(state, account_id, viewer.user.name, item.model_copy(update={"action": "shown"}))
        return len(body.items)

    return JSONResponse({"recorded": await run_in_threadpool(record)}, status_code=201)
