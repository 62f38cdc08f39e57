"""The door of the service, in front of FastAPI (pure ASGI, so nothing is read before it).

For `/v1` it checks the API key from the headers alone, with the scope of the route asked
for, before the body is read or parsed and before any state (the model, the graph) is
consulted: a caller without a valid key learns nothing, not even that no model is loaded.
Then it spends one request of the key's rate limit (crossgraph.api.limits): a key over its
limit gets 429 with Retry-After before any work.
Then, on every path, it holds request bodies to `api_max_body_bytes`: a declared
Content-Length beyond it is refused unread, a streamed body once it passes the limit.
The routes keep their key dependencies (they document the security scheme in OpenAPI and
serve apps mounted without this layer); behind the gate they take the key it checked from
the ASGI scope instead of hashing it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import HTTPException
from fastapi.routing import APIRoute
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crossgraph.api.deps import GATE_KEY, AppState, authenticate, route_scope
from crossgraph.api.errors import HTTP_CODES, body, http_response
from crossgraph.keys import Scope as KeyScope

PREFIX = "/v1/"
BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


class Gate:
    def __init__(
        self,
        app: ASGIApp,
        state: Callable[[], AppState],
        routes: Sequence[BaseRoute],
        max_body: int,
    ) -> None:
        self.app = app
        self.state = state  # read per request: tests swap it
        self.max_body = max_body
        # Every API route with the scope its key dependency asks for (FastAPI's own routing
        # tree is private; the app passes the routes of the routers it includes).
        self.table = [(r, route_scope(r)) for r in routes if isinstance(r, APIRoute)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(PREFIX):
            refused = self._refusal(scope)
            if refused is not None:
                await refused(scope, receive, send)
                return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            await self._too_large()(scope, receive, send)
            return
        if scope["method"] in BODILESS and not declared and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:  # read the body here, up to the limit, and hand it on in one piece
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._too_large()(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        presented = next((v for k, v in scope["headers"] if k == b"x-api-key"), None)
        state = self.state()
        try:
            key = authenticate(state, presented.decode("latin-1") if presented else None, self._scope(scope))
            state.limiter.admit(key)  # one request of the key's rate (a batch pays the rest later)
        except HTTPException as exc:
            return http_response(exc)
        scope[GATE_KEY] = key
        return None

    def _scope(self, scope: Scope) -> KeyScope:
        """The scope of the route this request goes to; "read" (any valid key) for no route,
        which FastAPI then answers with 404."""
        partial: KeyScope | None = None
        for route, needed in self.table:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return needed
            if match is Match.PARTIAL and partial is None:  # the path with another method: 405
                partial = needed
        return partial or "read"

    def _too_large(self) -> JSONResponse:
        detail = f"the request body exceeds {self.max_body} bytes (api_max_body_bytes)"
        return JSONResponse(body(HTTP_CODES[413], detail), status_code=413)


def _replay(data: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": data, "more_body": False}
        return await receive()  # after the body: the disconnect

    return replay
