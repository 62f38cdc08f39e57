"""Dependencies shared by the routers: app state, the served engine, API-key checks.

All are `async def`: FastAPI runs plain `def` dependencies in its thread pool, a hop that
cost more than the whole recommendation before this was noticed (benchmarks/api.py)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader

from crossgraph.api.changes import ChangeFollower
from crossgraph.api.experiments import Experiments
from crossgraph.api.limits import RateLimiter
from crossgraph.api.metrics import Metrics
from crossgraph.api.state import GraphLink, ModelHolder, Suppressions
from crossgraph.keys import ApiKey, KeyRing, Scope
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.nba import Intel
from crossgraph.settings import Settings


@dataclass
class AppState:
    settings: Settings
    holder: ModelHolder
    graph: GraphLink
    metrics: Metrics
    keys: KeyRing
    suppressions: Suppressions
    intel: Intel
    changes: ChangeFollower
    limiter: RateLimiter
    experiments: Experiments
    calibrated_at: datetime | None = None  # when intel's likelihoods were last calibrated on feedback
    writes: threading.Lock = field(default_factory=threading.Lock)  # POST /v1/purchases|accounts


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.crossgraph
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_engine(state: StateDep) -> Engine:
    """The model at the start of this request; a reload during the request does not change it."""
    return state.holder.engine


EngineDep = Annotated[Engine, Depends(get_engine)]

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An API key (crossgraph api-key create NAME --scope read|admin)",
)


GATE_KEY = "crossgraph.key"  # the key crossgraph.api.gate checked, kept in the ASGI scope


def authenticate(state: AppState, presented: str | None, scope: Scope) -> ApiKey:
    if not presented:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing API key: send it in the X-API-Key header")
    key = state.keys.authenticate(presented)
    if key is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key")
    if not key.allows(scope):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"API key {key.name!r} lacks the {scope!r} scope")
    return key


def checked_key(request: Request, state: AppState, presented: str | None, scope: Scope) -> ApiKey:
    """The key the gate already checked for this route's scope, or checked here (an app
    mounted without the gate, e.g. in tests): never hashed twice per request."""
    gated: ApiKey | None = request.scope.get(GATE_KEY)
    return gated if gated is not None else authenticate(state, presented, scope)


# Each key-checking dependency and the scope it asks for: crossgraph.api.gate reads a route's
# scope from these before FastAPI resolves anything.
SCOPES: list[tuple[Callable[..., object], Scope]] = []


def require(scope: Scope) -> Callable[[Request, AppState, str | None], Awaitable[ApiKey]]:
    async def check(
        request: Request, state: StateDep, presented: Annotated[str | None, Security(api_key_header)]
    ) -> ApiKey:
        return checked_key(request, state, presented, scope)

    SCOPES.append((check, scope))
    return check


def route_scope(route: APIRoute) -> Scope:
    """The scope the route's key dependency asks for; "admin" for a route with none found
    (refused to all but admins rather than open to all)."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        for call, scope in SCOPES:
            if dependant.call is call:
                return scope
        pending.extend(dependant.dependencies)
    return "admin"


ReadKey = Annotated[ApiKey, Depends(require("read"))]
AdminKey = Annotated[ApiKey, Depends(require("admin"))]


@dataclass(frozen=True)
class Call:
    """What a per-account read route needs, from one dependency: every dependency node costs
    FastAPI tens of microseconds, and the sidebar route's whole budget is a few hundred."""

    state: AppState
    engine: Engine  # the model at the start of this request
    key: ApiKey


async def read_call(request: Request, presented: Annotated[str | None, Security(api_key_header)]) -> Call:
    state: AppState = request.app.state.crossgraph
    key = checked_key(request, state, presented, "read")  # refused even without a model
    return Call(state, state.holder.engine, key)


SCOPES.append((read_call, "read"))
ReadCall = Annotated[Call, Depends(read_call)]
