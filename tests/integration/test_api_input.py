"""Hostile and careless input at the HTTP boundary (issue 14): days out of range, numbers JSON
cannot hold, lax parsing, and the key checked before the body or any state. Each answer is
what a client can act on: 401/403 before anything else, 413 for a body too large, 422 naming
the field, never a 500, and a refused write writes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from crossgraph.api.app import create_app
from crossgraph.api.deps import route_scope
from crossgraph.api.gate import Gate
from crossgraph.graph.driver import Graph
from crossgraph.settings import Settings
from tests.integration.served import READ, WRITE, Served, build_served

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def served(neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Served:
    return build_served(neo4j_settings, tmp_path_factory.mktemp("input"), accounts=60)


@pytest.fixture
def client(served: Served) -> Iterator[TestClient]:
    with TestClient(create_app(served.settings)) as c:
        yield c


def refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_request"
    assert field in [e["field"] for e in body["errors"]], body


def stored_feedback(served: Served, feedback_id: str) -> int:
    with Graph.connect(served.settings) as g:
        rows = g.write_text("MATCH (f:Feedback {id: $id}) RETURN count(f) AS n", {"id": feedback_id})
    return int(rows[0]["n"])


def test_days_out_of_range_are_422_naming_the_field_and_the_ends_of_the_range_are_served(
    served: Served, client: TestClient
) -> None:
    account = served.artifact.accounts.id(3)
    plan, recs = f"/v1/accounts/{account}/plan", f"/v1/accounts/{account}/recommendations"
    upsell = {"opportunity": "cross_sell,upsell,renewal"}
    for url, params in (
        (plan, {"as_of": "0001-01-01"}),
        (plan, {"as_of": "9999-12-31"}),
        (recs, {**upsell, "as_of": "9999-12-31"}),
        (recs, {**upsell, "as_of": "1899-12-31"}),
        ("/v1/kpis", {"as_of": "0001-01-01"}),
        ("/v1/kpis", {"as_of": "3000-01-01"}),
    ):
        response = client.get(url, params=params, headers=READ)
        refused(response, "query.as_of")
        assert "between 1900-01-01 and 2999-12-31" in response.json()["detail"]
    batch = client.post(
        "/v1/recommendations/batch", json={"accounts": [account], "as_of": "9999-12-31"}, headers=READ
    )
    refused(batch, "body.as_of")
    for day in ("1900-01-01", "2999-12-31"):
        assert client.get(plan, params={"as_of": day}, headers=READ).json()["as_of"] == day
        assert client.get(recs, params={**upsell, "as_of": day}, headers=READ).json()["as_of"] == day
        assert client.get("/v1/kpis", params={"as_of": day}, headers=READ).status_code == 200


def test_feedback_at_a_time_out_of_range_is_refused_and_nothing_is_stored(
    served: Served, client: TestClient
) -> None:
    account = served.artifact.accounts.id(4)
    post = {"account": account, "sku": served.new_account_sku, "action": "shown", "user": "j.meyer"}
    for n, at in enumerate(("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1700000000", 1700000000)):
        response = client.post("/v1/feedback", json={**post, "id": f"far-{n}", "at": at}, headers=WRITE)
        refused(response, "body.at")
        assert stored_feedback(served, f"far-{n}") == 0
    # The last moment of the range is stored, and its answer computed (no overflow).
    last = client.post(
        "/v1/feedback", json={**post, "id": "far-last", "at": "2999-12-31T23:59:59Z"}, headers=WRITE
    )
    assert last.status_code == 201, last.text
    assert stored_feedback(served, "far-last") == 1


def test_numbers_json_cannot_hold_are_refused_and_never_echoed(served: Served, client: TestClient) -> None:
    account = served.artifact.accounts.id(4)
    for text in (
        f'{{"accounts": ["{account}"], "limit": NaN}}',
        '{"accounts": [NaN]}',
        f'{{"accounts": ["{account}"], "ignored": -Infinity}}',
    ):
        response = client.post("/v1/recommendations/batch", content=text, headers={**READ, **JSON})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_request"
        assert "is not a JSON number" in response.json()["detail"]
    post = {"account": account, "sku": served.new_account_sku, "action": "won", "user": "j.meyer"}
    for n, value in enumerate(("Infinity", "NaN", "1e999")):
        text = json.dumps({**post, "id": f"inf-{n}"})[:-1] + f', "value": {value}}}'
        response = client.post("/v1/feedback", content=text, headers={**WRITE, **JSON})
        assert response.status_code == 422, response.text
        assert stored_feedback(served, f"inf-{n}") == 0


def test_lax_values_are_refused_at_the_http_boundary(served: Served, client: TestClient) -> None:
    account = served.artifact.accounts.id(5)
    recs = f"/v1/accounts/{account}/recommendations"
    for value in ("0", "20260630", "2026-6-30", "2026-02-30", " 2026-06-30"):
        refused(
            client.get(f"/v1/accounts/{account}/plan", params={"as_of": value}, headers=READ), "query.as_of"
        )
    for value in ("5.0", "+5", "5_0", " 5", "\u0665"):
        refused(client.get(recs, params={"limit": value}, headers=READ), "query.limit")
    refused(
        client.get(f"/v1/accounts/{account}/similar", params={"lacking": "1.0"}, headers=READ),
        "query.lacking",
    )
    refused(client.get("/v1/whitespace", params={"top": "+3"}, headers=READ), "query.top")
    assert len(client.get(recs, params={"limit": "5", "drivers": "false"}, headers=READ).json()["items"]) == 5
    for change in ({"limit": 5.0}, {"limit": True}, {"limit": "5"}, {"drivers": 1}, {"as_of": 0}):
        field = f"body.{next(iter(change))}"
        batch = client.post("/v1/recommendations/batch", json={"accounts": [account], **change}, headers=READ)
        refused(batch, field)
    post = {"account": account, "sku": served.new_account_sku, "action": "won", "user": "j.meyer"}
    for n, value in enumerate((False, "12")):
        response = client.post("/v1/feedback", json={**post, "id": f"lax-{n}", "value": value}, headers=WRITE)
        refused(response, "body.value")
        assert stored_feedback(served, f"lax-{n}") == 0


def test_the_key_is_checked_before_the_body_is_read_or_parsed(served: Served, client: TestClient) -> None:
    malformed = client.post("/v1/recommendations/batch", content=b'{"accounts": [', headers=JSON)
    assert malformed.status_code == 401 and malformed.json()["code"] == "unauthorized"
    assert malformed.headers["WWW-Authenticate"] == "ApiKey"
    latin1 = '{"account": "Müller"}'.encode("latin-1")
    underscoped = client.post("/v1/feedback", content=latin1, headers={**READ, **JSON})
    assert underscoped.status_code == 403 and "write" in underscoped.json()["detail"]
    with_scope = client.post("/v1/feedback", content=latin1, headers={**WRITE, **JSON})
    assert with_scope.status_code == 422 and "not UTF-8" in with_scope.json()["detail"]
    assert client.post("/v1/admin/reload", content=b"{", headers={**WRITE, **JSON}).status_code == 403
    assert client.get("/v1/no-such-route", headers=READ).status_code == 404
    assert client.get("/v1/no-such-route").status_code == 401

    # A body bigger than the limit, with no key: refused from the headers, never read.
    app = client.app
    limit = served.settings.api_max_body_bytes
    huge = asgi(app, "POST", "/v1/recommendations/batch", [str(100 * limit).encode()], declared=100 * limit)
    assert huge.status == 401 and huge.reads == 0
    # With a key: 413 from the declared length, unread; a streamed body once past the limit.
    declared = asgi(app, "POST", "/v1/recommendations/batch", [b"x"], declared=limit + 1, key=READ)
    assert declared.status == 413 and declared.body["code"] == "too_large" and declared.reads == 0
    page = asgi(app, "POST", "/ui/login", [b"x"], declared=limit + 1)  # the limit holds on every path
    assert page.status == 413 and page.reads == 0
    chunks = [b" " * (limit // 4)] * 8
    streamed = asgi(app, "POST", "/v1/recommendations/batch", chunks, key=READ)
    assert streamed.status == 413 and streamed.reads == 5
    account = served.artifact.accounts.id(0)
    fits = asgi(
        app, "POST", "/v1/recommendations/batch", [b'{"accounts": ', f'["{account}"]}}'.encode()], key=READ
    )
    assert fits.status == 200 and fits.body["results"][0]["account"]["id"] == account


def test_without_a_model_a_caller_without_a_key_learns_nothing(served: Served, tmp_path: Path) -> None:
    empty = tmp_path / "no-models-here"
    settings = served.settings.model_copy(update={"model_dir": empty})
    calls = [
        ("GET", "/v1/model", None),
        ("GET", "/v1/whitespace", None),
        ("POST", "/v1/recommendations/batch", {"accounts": ["A"]}),
    ]
    with TestClient(create_app(settings)) as c:
        for method, url, body in calls:
            assert c.request(method, url, json=body).status_code == 401
            answer = c.request(method, url, json=body, headers=READ)
            assert answer.status_code == 503 and answer.json()["code"] == "model_not_loaded"
            assert str(tmp_path) not in answer.text
        ready = c.get("/readyz")
        assert ready.status_code == 503 and str(tmp_path) not in ready.text


def test_every_v1_route_asks_for_its_scope_at_the_gate(served: Served) -> None:
    app = create_app(served.settings)
    gate = next(m for m in app.user_middleware if m.cls is Gate)
    scopes = {
        (route.path, method): route_scope(route)
        for route in gate.kwargs["routes"]
        if isinstance(route, APIRoute) and route.path.startswith("/v1/")
        for method in route.methods
    }
    documented = {(path, m.upper()) for path, ops in app.openapi()["paths"].items() for m in ops}
    assert set(scopes) == {(p, m) for p, m in documented if p.startswith("/v1/")}
    assert scopes.pop(("/v1/admin/reload", "POST")) == "admin"
    assert scopes.pop(("/v1/feedback", "POST")) == "write"
    assert scopes.pop(("/v1/purchases", "POST")) == "write"
    assert scopes.pop(("/v1/accounts", "POST")) == "write"
    assert scopes.pop(("/v1/accounts", "GET")) == "read"  # the worklist
    assert scopes.pop(("/v1/review", "GET")) == "read"
    assert scopes.pop(("/v1/experiments/{name}", "GET")) == "read"
    assert set(scopes.values()) == {"read"} and len(scopes) == 8


class Answer:
    def __init__(self, status: int, body: dict[str, Any], reads: int) -> None:
        self.status, self.body, self.reads = status, body, reads


def asgi(
    app: Any,
    method: str,
    path: str,
    chunks: list[bytes],
    *,
    declared: int | None = None,
    key: dict[str, str] | None = None,
) -> Answer:
    """One request straight through the ASGI app, counting how many body chunks it read."""
    headers = [(b"content-type", b"application/json")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    headers += [(k.lower().encode(), v.encode()) for k, v in (key or {}).items()]
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": headers, "http_version": "1.1", "scheme": "http", "server": ("test", 80),
             "client": ("127.0.0.1", 1), "root_path": ""}  # fmt: skip
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        if reads < len(chunks):
            reads += 1
            return {"type": "http.request", "body": chunks[reads - 1], "more_body": reads < len(chunks)}
        await asyncio.sleep(3600)  # the client waits for the answer
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # A loop of its own in a thread: in the full suite Playwright's sync API keeps an event loop
    # running in the main thread, where asyncio.run() refuses to start.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(status, json.loads(body), reads)
