"""Hostile and careless input at the HTTP boundary (issue 14): days out of range, numbers JSON
cannot hold, lax parsing. Each answer is what a client can act on: 422 naming the field,
never a 500, and a refused write writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from crossgraph.api.app import create_app
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
