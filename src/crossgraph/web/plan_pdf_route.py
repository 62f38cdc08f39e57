"""GET /ui/accounts/{id}/plan.pdf: the account plan as a printable PDF, for people who sign in
(the PDF twin of pages.plan_markdown; the application mounts `router` next to pages.router)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from crossgraph.recommend.plan import build_plan
from crossgraph.web.auth import Rep, web
from crossgraph.web.pages import AccountId, _filename
from crossgraph.web.pdf import plan_pdf

router = APIRouter(include_in_schema=False)


@router.get("/ui/accounts/{account_id}/plan.pdf")
async def plan_pdf_download(request: Request, account_id: AccountId, viewer: Rep) -> Response:
    state = web(request).state
    plan = await run_in_threadpool(
        build_plan, state.holder.engine, state.graph.run, account_id, intel=state.intel, top=8
    )
    return Response(
        await run_in_threadpool(plan_pdf, plan),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="plan-{_filename(account_id)}.pdf"'},
    )
