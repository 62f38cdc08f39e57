"""Mount the web face on the API's FastAPI app: static assets, offline API docs, pages,
the widget, their error pages and the security headers."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from crossgraph.api.deps import AppState
from crossgraph.errors import CrossgraphError, GraphUnavailable, ModelNotLoaded
from crossgraph.web import embed, pages, portfolio
from crossgraph.web.auth import (
    CsrfRejected,
    Directory,
    LoginLimiter,
    NotAllowed,
    SignInRequired,
    WebState,
    viewer_of,
)
from crossgraph.web.render import STATIC, page
from crossgraph.web.security import SecurityHeaders, frame_ancestors
from crossgraph.web.tokens import EmbedRefused, embed_secret, web_secret

DOCS_ASSETS = "/static/docs"
# Swagger UI and ReDoc, bundled by fastapi-offline (their licences ship in its wheel).
DOCS_STATIC = Path(fastapi_offline.__file__).parent / "static"
WEB_PREFIXES = ("/ui", "/embed")
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


def install(app: FastAPI, state: AppState) -> None:
    settings = state.settings
    app.state.web = WebState(
        state=state,
        directory=Directory(settings.users_path),
        secret=web_secret(settings),
        embed_secret=embed_secret(settings),
        limiter=LoginLimiter(settings.web_login_attempts),
    )
    app.mount("/static/docs", StaticFiles(directory=DOCS_STATIC), name="docs-static")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _docs(app, public=settings.web_public_docs)
    for router in (pages.router, portfolio.router, embed.router):
        app.include_router(router)
    _errors(app)
    app.add_middleware(SecurityHeaders, embed_ancestors=frame_ancestors(settings.embed_frame_ancestors))


def _docs(app: FastAPI, *, public: bool) -> None:
    def allowed(request: Request) -> bool:
        return public or viewer_of(request) is not None

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> Response:
        if not allowed(request):
            return RedirectResponse("/ui/login?next=/docs", status_code=303)
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/redoc.standalone.js", include_in_schema=False)
    async def redoc_js() -> Response:
        return Response(
            redoc_bundle(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> Response:
        if not allowed(request):
            return RedirectResponse("/ui/login?next=/redoc", status_code=303)
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            redoc_js_url="/redoc.standalone.js",
            redoc_favicon_url="/static/favicon.svg",
            with_google_fonts=False,
        )


@functools.cache
def redoc_bundle() -> bytes:
    """ReDoc's bundle with its one outside reference, the Redocly logo it shows in the menu's
    footer (fetched from a CDN), pointed at this service's icon: the docs make no request out."""
    text = (DOCS_STATIC / "redoc.standalone.js").read_bytes()
    return text.replace(REDOC_LOGO, b"/static/favicon.svg")


def _errors(app: FastAPI) -> None:
    """Pages answer errors with a page (or a redirect to sign in), their fetches with JSON;
    every other path keeps the API's JSON errors."""
    api_handler = app.exception_handlers[CrossgraphError]

    async def handler(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if not path.startswith(WEB_PREFIXES):
            answer = api_handler(request, exc)
            response: Response = await answer if inspect.isawaitable(answer) else answer
            return response
        wants_html = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        status, code, title = _status(exc)
        if isinstance(exc, SignInRequired) and wants_html:
            return RedirectResponse(f"/ui/login?next={request.url.path}", status_code=303)
        if wants_html:
            context: dict[str, Any] = {"title": title, "message": str(exc)}
            if path.startswith("/embed"):
                return page(request, "embed_error.html", None, {"message": str(exc)}, status)
            return page(request, "error.html", viewer_of(request), context, status)
        headers = {"Retry-After": "5"} if status == 503 else None
        return JSONResponse({"code": code, "detail": str(exc)}, status_code=status, headers=headers)

    app.add_exception_handler(CrossgraphError, handler)


def _status(exc: Exception) -> tuple[int, str, str]:
    if isinstance(exc, SignInRequired):
        return 401, "sign_in_required", "Please sign in"
    if isinstance(exc, NotAllowed | CsrfRejected):
        return 403, "forbidden", "Not allowed"
    if isinstance(exc, EmbedRefused):
        return 403, "embed_refused", "Cannot show suggestions"
    if isinstance(exc, ModelNotLoaded | GraphUnavailable):
        return 503, "unavailable", "Not available right now"
    from crossgraph.api.errors import MAPPING

    for cls, status, code in MAPPING:
        if isinstance(exc, cls):
            return status, code, "Not found" if status == 404 else "Something is not right"
    return 500, "internal_error", "Something went wrong"
