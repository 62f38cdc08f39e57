"""Every error the API returns, mapped in one place: {"code": ..., "detail": ...}."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from crossgraph.api.schemas import ErrorResponse
from crossgraph.errors import (
    AccountNotFound,
    Conflict,
    CrossgraphError,
    ExperimentNotFound,
    GraphQueryError,
    GraphUnavailable,
    InvalidInput,
    ModelNotLoaded,
    ProductNotFound,
    WorklistMissing,
)
from crossgraph.recommend.nba import UnknownValues

# One code per cause a client handles differently. Every 422 is `invalid_request`, whether
# FastAPI's validation refused a parameter (wrong type, out of range) or crossgraph did (an
# unknown category, too many accounts): the client's fix is the same, correct the request.
INVALID_REQUEST = "invalid_request"

# (status, code) per error class; the first match in this order wins (subclasses first)
MAPPING: list[tuple[type[CrossgraphError], int, str]] = [
    (AccountNotFound, 404, "account_not_found"),
    (ProductNotFound, 404, "product_not_found"),
    (ExperimentNotFound, 404, "experiment_not_found"),
    (InvalidInput, 422, INVALID_REQUEST),
    (Conflict, 409, "conflict"),
    (ModelNotLoaded, 503, "model_not_loaded"),
    (WorklistMissing, 503, "worklist_not_ready"),
    (GraphUnavailable, 503, "graph_unavailable"),
    (GraphQueryError, 502, "graph_query_failed"),
    (CrossgraphError, 500, "internal_error"),
]
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: INVALID_REQUEST,
    429: "rate_limited",
    503: "unavailable",
}
# Every status a /v1 route can answer besides its own successes, each with the error body.
ERROR_BODY: dict[str, Any] = {"model": ErrorResponse}  # a response documented with the error body
_ERROR = ERROR_BODY
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**_ERROR, "description": "The body could not be read at all (e.g. a broken form body)"},
    401: {**_ERROR, "description": "Missing or invalid API key"},
    403: {**_ERROR, "description": "The key lacks the scope"},
    404: {**_ERROR, "description": "Unknown account or product"},
    413: {**_ERROR, "description": "Request body larger than api_max_body_bytes"},
    422: {**_ERROR, "description": "Invalid parameter (named in detail)"},
    429: {
        **_ERROR,
        "description": "The key is over its rate limit (api_rate_read, api_rate_write, api_rate_admin); "
        "Retry-After says in how many seconds to try again",
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    },
    502: {**_ERROR, "description": "Neo4j answered a query with an error"},
    503: {
        **_ERROR,
        "description": "No model loaded yet, the graph is needed and unreachable, or no worklist yet",
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    },
}


def body(code: str, detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "detail": detail}
    if errors is not None:
        out["errors"] = errors
    return out


def http_response(exc: HTTPException) -> JSONResponse:
    """The error body of an HTTPException, its headers kept (Retry-After), with the scheme to use
    on a 401."""
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers.setdefault("WWW-Authenticate", "ApiKey")
    code = HTTP_CODES.get(exc.status_code, "error")
    return JSONResponse(body(code, str(exc.detail)), status_code=exc.status_code, headers=headers)


def install(app: FastAPI) -> None:
    async def crossgraph_error(request: Request, exc: Exception) -> JSONResponse:
        for cls, status, code in MAPPING:
            if isinstance(exc, cls):
                headers = {"Retry-After": "5"} if status == 503 else None
                errors = exc.field_errors() if isinstance(exc, UnknownValues) else None
                return JSONResponse(body(code, str(exc), errors), status_code=status, headers=headers)
        raise exc  # pragma: no cover - MAPPING ends with the root class

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return http_response(exc)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": _message(e), "input": e.get("input")}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse(body(INVALID_REQUEST, summary, _jsonable(errors)), status_code=422)

    app.add_exception_handler(CrossgraphError, crossgraph_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


def _message(error: dict[str, Any]) -> str:
    """Pydantic's message; for malformed JSON with the decoder's reason ("JSON decode error" alone
    does not say what to fix)."""
    reason = (error.get("ctx") or {}).get("error")
    return (
        f"{error['msg']}: {reason}" if error.get("type") == "json_invalid" and reason else str(error["msg"])
    )


def _jsonable(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validation inputs may be any object; keep JSON scalars, show the rest as text, and leave
    out what JSON cannot carry (NaN, Infinity): an error body must always serialise."""
    out = []
    for e in errors:
        value = e["input"]
        if isinstance(value, float) and not math.isfinite(value):
            out.append({k: v for k, v in e.items() if k != "input"})
        elif isinstance(value, str | int | float | bool | None):
            out.append(e)
        else:
            out.append({**e, "input": str(value)})
    return out
