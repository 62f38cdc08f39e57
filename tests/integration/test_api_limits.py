"""Limits a heavy caller meets (issue 14, item 10), and evidence answers that tell the truth
(items 6 and 8): through TestClient with the real artifact and the real test Neo4j."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from crossgraph.api import schemas
from crossgraph.api.app import create_app
from crossgraph.graph.driver import Graph
from crossgraph.settings import Settings
from tests.integration.served import ADMIN, READ, WRITE, Served, build_served

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]
UNSOLD = {"sku": "NEW-UNSOLD-1", "name": "Press X900", "category": "machines", "kind": "machine"}


@pytest.fixture(scope="module")
def served(neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Served:
    return build_served(neo4j_settings, tmp_path_factory.mktemp("limits"))


def client_with(served: Served, **settings: Any) -> TestClient:
    return TestClient(create_app(served.settings.model_copy(update=settings)))


@pytest.fixture
def client(served: Served) -> Iterator[TestClient]:
    with TestClient(create_app(served.settings)) as c:
        yield c


def test_a_key_over_its_rate_limit_gets_429_with_retry_after_and_others_go_on(served: Served) -> None:
    account = served.artifact.accounts.id(0)
    sidebar = f"/v1/accounts/{account}/recommendations"
    with client_with(served, api_rate_read=3, api_rate_write=3) as client:
        # The sidebar's fast path, FastAPI's routes and a 404 all count against the key.
        assert client.get(sidebar, headers=READ).status_code == 200
        assert client.get(f"/v1/accounts/{account}/similar", headers=READ).status_code == 200
        assert client.get("/v1/accounts/NOPE/recommendations", headers=READ).status_code == 404
        for url in (sidebar, f"/v1/accounts/{account}/similar"):
            refused = client.get(url, headers=READ)
            assert refused.status_code == 429
            assert refused.json()["code"] == "rate_limited"
            assert (
                "'reader'" in refused.json()["detail"] and "3 requests per minute" in refused.json()["detail"]
            )
            assert refused.headers["Retry-After"] == "20"  # one request of 3 per minute
        # Another key has its own bucket; admin keys are not limited by default.
        assert client.get(sidebar, headers=WRITE).status_code == 200
        assert all(client.get(sidebar, headers=ADMIN).status_code == 200 for _ in range(10))
        metrics = client.get("/metrics").text
        assert 'crossgraph_rate_limited_total{key="reader"} 2.0' in metrics
        # An invalid key is refused as before, without touching anyone's bucket.
        assert client.get(sidebar, headers={"X-API-Key": "nope"}).status_code == 401


def test_a_batch_counts_once_per_account_against_the_rate_limit(served: Served) -> None:
    accounts = [served.artifact.accounts.id(i) for i in range(12)]
    with client_with(served, api_rate_read=10) as client:
        first = client.post("/v1/recommendations/batch", json={"accounts": accounts[:8]}, headers=READ)
        assert first.status_code == 200, first.text
        second = client.post("/v1/recommendations/batch", json={"accounts": accounts[:5]}, headers=READ)
        assert second.status_code == 429 and second.json()["code"] == "rate_limited"
        assert int(second.headers["Retry-After"]) >= 17  # 3 more requests' worth at 1 per 6 s
        # The refused batch spent nothing beyond its own request: one sidebar call still fits.
        assert client.get(f"/v1/accounts/{accounts[0]}/recommendations", headers=READ).status_code == 200
        # A batch larger than the whole bucket is not refused for ever: it needs a full bucket.
    with client_with(served, api_rate_read=10) as client:
        whole = client.post("/v1/recommendations/batch", json={"accounts": accounts}, headers=READ)
        assert whole.status_code == 200, whole.text
        assert len(whole.json()["results"]) == 12


def test_a_batch_beyond_the_work_limits_is_422_naming_them(served: Served) -> None:
    accounts = [served.artifact.accounts.id(i) for i in range(10)]
    with client_with(served, api_batch_max_work=100, api_batch_max_graph=4) as client:
        graph = client.post(
            "/v1/recommendations/batch",
            json={"accounts": accounts[:5], "limit": 2, "opportunity": ["cross_sell", "renewal"]},
            headers=READ,
        )
        assert graph.status_code == 422, graph.text
        assert "5 accounts with opportunity cross_sell, renewal" in graph.json()["detail"]
        assert "at most 4 allowed (api_batch_max_graph)" in graph.json()["detail"]
        fits = client.post(
            "/v1/recommendations/batch",
            json={"accounts": accounts[:4], "limit": 2, "opportunity": ["cross_sell", "renewal"]},
            headers=READ,
        )
        assert fits.status_code == 200 and len(fits.json()["results"]) == 4
        kinds = client.post(
            "/v1/recommendations/batch",
            json={"accounts": accounts[:4], "limit": 10, "opportunity": ["cross_sell", "upsell", "renewal"]},
            headers=READ,
        )
        assert kinds.status_code == 422 and "4 x 10 x 3 = 120" in kinds.json()["detail"]
        too_much = client.post(
            "/v1/recommendations/batch", json={"accounts": accounts, "limit": 11}, headers=READ
        )
        assert too_much.status_code == 422, too_much.text
        detail = too_much.json()["detail"]
        assert too_much.json()["code"] == "invalid_request"
        assert "10 x 11 x 1 = 110" in detail and "at most 100" in detail and "api_batch_max_work" in detail
        fits = client.post(
            "/v1/recommendations/batch", json={"accounts": accounts, "limit": 10}, headers=READ
        )
        assert fits.status_code == 200 and len(fits.json()["results"]) == 10
        # The same account twice is ranked once, and counted once.
        twice = client.post(
            "/v1/recommendations/batch", json={"accounts": [*accounts, *accounts], "limit": 10}, headers=READ
        )
        assert twice.status_code == 200 and len(twice.json()["results"]) == 10


def test_evidence_for_a_catalogue_product_nobody_bought_is_found_with_no_peers(
    served: Served, client: TestClient
) -> None:
    account = served.artifact.accounts.id(3)
    with Graph.connect(served.settings) as g:
        g.write_text("CREATE (:Product {sku: $sku, name: $name, category: $category, kind: $kind})", UNSOLD)
    try:
        response = client.get(f"/v1/accounts/{account}/evidence/NEW-UNSOLD-1", headers=READ)
        assert response.status_code == 200, response.text
        body = response.json()
        schemas.ProductEvidence.model_validate(body)
        assert body["product"] == UNSOLD
        assert body["peers_owning"] == 0 and body["peers"] == [] and body["peers_considered"] == 20
        assert body["score"] is None and body["rank"] is None and body["account_owns"] is False
        assert "no account had bought NEW-UNSOLD-1" in body["notes"][0]
    finally:
        with Graph.connect(served.settings) as g:
            g.write_text("MATCH (p:Product {sku: $sku}) DETACH DELETE p", {"sku": UNSOLD["sku"]})
    missing = client.get(f"/v1/accounts/{account}/evidence/NO-SUCH-SKU", headers=READ)
    assert missing.status_code == 404 and missing.json()["code"] == "product_not_found"


def test_evidence_purchase_times_carry_their_utc_offset(served: Served, client: TestClient) -> None:
    """The schema says date-time (RFC 3339: with an offset); purchase times are stored in UTC."""
    account = served.artifact.accounts.id(3)
    top = client.get(f"/v1/accounts/{account}/recommendations", params={"limit": 1}, headers=READ).json()
    sku = top["items"][0]["sku"]
    peers = client.get(f"/v1/accounts/{account}/evidence/{sku}", headers=READ).json()["peers"]
    bought = [p for p in peers if p["first_bought"] is not None]
    assert bought
    for peer in bought:
        for field in ("first_bought", "last_bought"):
            moment = datetime.fromisoformat(peer[field])
            assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0, peer[field]
