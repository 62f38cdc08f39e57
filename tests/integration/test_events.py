"""Purchases and accounts posted over the API change the next answers at once, without a
training run, on every worker: the real test Neo4j and a real small fit (served.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from crossgraph.api import schemas
from crossgraph.api.app import create_app
from crossgraph.api.deps import AppState
from crossgraph.cli import app as cli
from crossgraph.data.tables import PURCHASES
from crossgraph.graph import ingest
from crossgraph.graph.changes import change_seq, changes_since, prune_changes, record_change
from crossgraph.graph.driver import Graph
from crossgraph.graph.export import export_accounts, export_installed, export_order_lines, export_products
from crossgraph.model.train import train
from crossgraph.settings import Settings
from tests.integration.served import ADMIN, READ, WRITE, Served, build_served, small_params, wait_for

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]
LINE = itertools.count(1)


@pytest.fixture(scope="module")
def served(neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Served:
    return build_served(neo4j_settings, tmp_path_factory.mktemp("events"))


@pytest.fixture
def client(served: Served) -> Iterator[TestClient]:
    with TestClient(create_app(served.settings)) as c:
        yield c


def line(account: str, sku: str, **values: Any) -> dict[str, Any]:
    n = next(LINE)
    return {
        "line_id": f"API-L{n}",
        "order_id": f"API-O{n}",
        "account_id": account,
        "sku": sku,
        "quantity": 1,
        "revenue": 100.0,
        "ordered_at": "2026-07-02 09:30",
        **values,
    }


def recommendations(client: TestClient, account: str, limit: int = 10) -> dict[str, Any]:
    response = client.get(f"/v1/accounts/{account}/recommendations?limit={limit}", headers=READ)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    schemas.RecommendationList.model_validate(body)
    return body


def owned_at_fit(served: Served, account: str) -> set[str]:
    a = served.artifact
    row = a.owned[a.accounts.index(account)]
    return {a.products.id(int(i)) for i in row.indices}


def test_a_purchase_leaves_the_buyers_list_and_counts_in_its_peers_evidence(
    served: Served, client: TestClient
) -> None:
    a = served.artifact
    account = a.accounts.id(5)
    before = recommendations(client, account)
    assert before["basis"] == "model"
    top = before["items"][0]
    # The account's closest peer that does not own the top product yet buys it.
    peers = [a.accounts.id(int(p)) for p in a.similar_accounts[5] if p >= 0]
    buyer = next(p for p in peers if top["sku"] not in owned_at_fit(served, p))

    response = client.post("/v1/purchases", json={"lines": [line(buyer, top["sku"])]}, headers=WRITE)
    assert response.status_code == 200, response.text
    assert response.json()["new_lines"] == 1 and response.json()["accounts"] == [buyer]

    buyer_after = recommendations(client, buyer, limit=50)
    assert buyer_after["basis"] == "folded"
    assert top["sku"] not in {i["sku"] for i in buyer_after["items"]}
    assert buyer_after["account"]["in_model"] is True
    after = recommendations(client, account)
    same = next(i for i in after["items"] if i["sku"] == top["sku"])
    assert same["evidence"]["peers_owning"] == top["evidence"]["peers_owning"] + 1
    assert after["basis"] == "model"  # the account itself did not change


def test_a_new_account_gets_personal_suggestions_and_peers_after_three_purchases(
    served: Served, client: TestClient
) -> None:
    a = served.artifact
    model_account = a.accounts.id(3)
    info = a.account_info[model_account]
    new = {
        "id": "API-NEW-1",
        "name": "Neugruendung KG",
        "industry": info["industry"],
        "country": info["country"],
    }
    response = client.post("/v1/accounts", json={"accounts": [new]}, headers=WRITE)
    assert response.status_code == 200, response.text
    popular = recommendations(client, "API-NEW-1")
    assert popular["basis"] == "segment_popularity" and popular["fallback_segment"]

    bought = sorted(owned_at_fit(served, model_account))[:3]
    lines = [line("API-NEW-1", sku) for sku in bought]
    response = client.post("/v1/purchases", json={"lines": lines}, headers=WRITE)
    assert response.status_code == 200, response.text

    personal = recommendations(client, "API-NEW-1")
    assert personal["basis"] == "folded" and personal["account"]["in_model"] is False
    skus = [i["sku"] for i in personal["items"]]
    assert not set(skus) & set(bought)
    assert skus != [i["sku"] for i in popular["items"]]
    assert all(i["evidence"]["peers_considered"] > 0 for i in personal["items"])
    assert any(i["evidence"]["top_peers"] for i in personal["items"])
    assert any(i["drivers"] for i in personal["items"])
    assert personal["notes"] and "refolded" in personal["notes"][0]


def test_replaying_a_body_writes_nothing_twice(served: Served, client: TestClient) -> None:
    a = served.artifact
    account = a.accounts.id(7)
    sku = next(i["sku"] for i in recommendations(client, account)["items"])
    body = {"lines": [line(account, sku, quantity="2", revenue="50.5"), line(account, sku, quantity=3)]}
    response = client.post("/v1/purchases", json=body, headers=WRITE)
    assert response.status_code == 200, response.text
    first, again = response.json(), client.post("/v1/purchases", json=body, headers=WRITE).json()
    assert (first["new_lines"], first["known_lines"]) == (2, 0)
    assert (again["new_lines"], again["known_lines"], again["change"]) == (0, 2, None)
    with Graph.connect(served.settings) as graph:
        bought = graph.read("existing_purchase_pairs", {"accounts": [account], "skus": [[sku]]})[0]
    ledger = dict(zip(bought["skus"], bought["line_ids"], strict=True))[sku]
    assert sorted(ledger) == sorted(row["line_id"] for row in body["lines"])


def test_a_write_overlapped_by_another_workers_on_the_same_pairs_completes_once(
    served: Served, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker (or a CLI load) writes lines of the same pairs between this POST's read
    of the graph and its write: an existing pair's ledger grew, a new pair was created. The
    POST still answers 200, no pair gets a second BOUGHT, and every line is in its ledger once."""
    account = served.artifact.accounts.id(12)
    old_sku, new_sku = (i["sku"] for i in recommendations(client, account)["items"][:2])
    earlier = line(account, old_sku)
    first = client.post("/v1/purchases", json={"lines": [earlier]}, headers=WRITE)
    assert first.status_code == 200, first.text
    theirs = [line(account, old_sku), line(account, new_sku)]
    ours = [line(account, old_sku), line(account, new_sku)]
    real, overlapped = ingest.pairs_in_graph, list[bool]()

    def read_then_overlap(graph: Graph, pairs: ingest.PairLines, chunk: int = 5_000) -> ingest.PairsInGraph:
        found = real(graph, pairs, chunk)
        if not overlapped:
            overlapped.append(True)
            with Graph.connect(served.settings) as other:
                ingest.load_records(
                    other, PURCHASES, "the other worker", [{k: str(v) for k, v in r.items()} for r in theirs]
                )
        return found

    monkeypatch.setattr(ingest, "pairs_in_graph", read_then_overlap)
    response = client.post("/v1/purchases", json={"lines": ours}, headers=WRITE)
    assert response.status_code == 200, response.text
    assert overlapped and response.json()["new_lines"] == 2
    with Graph.connect(served.settings) as graph:
        (found,) = graph.read_values(
            "existing_purchase_pairs", {"accounts": [account], "skus": [[old_sku, new_sku]]}
        )
    assert sorted(found["skus"]) == sorted([old_sku, new_sku])  # one BOUGHT per pair
    ledgers = dict(zip(found["skus"], found["line_ids"], strict=True))
    assert sorted(ledgers[old_sku]) == sorted(r["line_id"] for r in [earlier, theirs[0], ours[0]])
    assert sorted(ledgers[new_sku]) == sorted([theirs[1]["line_id"], ours[1]["line_id"]])


def test_an_invalid_line_is_a_422_naming_it_and_nothing_is_written(
    served: Served, client: TestClient
) -> None:
    account = served.artifact.accounts.id(8)
    sku = served.artifact.products.id(0)
    good, bad = line(account, sku), line(account, sku, quantity=-1)
    response = client.post("/v1/purchases", json={"lines": [good, bad]}, headers=WRITE)
    assert response.status_code == 422
    assert "body.lines item 2, column 'quantity': '-1' must be greater than 0" in response.json()["detail"]
    unknown = client.post("/v1/purchases", json={"lines": [line("NO-SUCH", sku)]}, headers=WRITE)
    assert unknown.status_code == 422 and "unknown account 'NO-SUCH'" in unknown.json()["detail"]
    with Graph.connect(served.settings) as graph:
        lines = graph.read("existing_purchase_pairs", {"accounts": [account], "skus": [[sku]]})
    assert good["line_id"] not in {i for row in lines for ids in row["line_ids"] for i in ids}
    read_only = client.post("/v1/purchases", json={"lines": [good]}, headers=READ)
    assert read_only.status_code == 403


def test_two_workers_agree_after_a_change_made_through_one(served: Served) -> None:
    a = served.artifact
    account = a.accounts.id(11)
    with TestClient(create_app(served.settings)) as one, TestClient(create_app(served.settings)) as two:
        sku = recommendations(one, account)["items"][0]["sku"]
        response = one.post("/v1/purchases", json={"lines": [line(account, sku)]}, headers=WRITE)
        assert response.status_code == 200, response.text
        state: AppState = two.app.state.crossgraph  # type: ignore[attr-defined]
        state.graph.run(lambda g: state.changes.poll(state.holder.engine, g))  # its next watcher tick
        seen_by_one, seen_by_two = recommendations(one, account), recommendations(two, account)
        assert seen_by_two["basis"] == "folded"
        assert sku not in {i["sku"] for i in seen_by_two["items"]}
        assert seen_by_one["items"] == seen_by_two["items"]


def test_a_won_deal_is_owned_and_refolds_the_account_at_once(served: Served, client: TestClient) -> None:
    account = served.artifact.accounts.id(13)
    before = recommendations(client, account)
    sku = before["items"][0]["sku"]
    won = {"account": account, "sku": sku, "action": "won", "user": "j.meyer", "id": "won-events-1"}
    assert client.post("/v1/feedback", json=won, headers=WRITE).status_code == 201
    after = recommendations(client, account)
    assert after["basis"] == "folded"
    assert sku not in {i["sku"] for i in after["items"]}


def test_a_new_model_replays_the_changes_made_after_its_export(served: Served) -> None:
    a = served.artifact
    early, late = a.accounts.id(20), a.accounts.id(21)
    with TestClient(create_app(served.settings)) as client:
        sku = recommendations(client, early)["items"][0]["sku"]
        assert (
            client.post("/v1/purchases", json={"lines": [line(early, sku)]}, headers=WRITE).status_code == 200
        )
        with Graph.connect(served.settings) as g:
            until = change_seq(g)  # the export of the next training run starts here
            result = train(
                export_order_lines(g),
                export_accounts(g),
                export_products(g),
                served.registry,
                params=small_params(),
                test_days=180,
                installed=export_installed(g),
                changes_until=until,
            )
        # Posted between the export and the promotion: not in the new model
        late_sku = recommendations(client, late)["items"][0]["sku"]
        response = client.post("/v1/purchases", json={"lines": [line(late, late_sku)]}, headers=WRITE)
        assert response.status_code == 200
        served.registry.promote(result.version)
        reloaded = client.post("/v1/admin/reload", headers=ADMIN).json()
        assert reloaded["current"] == result.version
        in_model = recommendations(client, early)
        assert in_model["basis"] == "model" and sku not in {i["sku"] for i in in_model["items"]}
        replayed = recommendations(client, late)
        assert replayed["basis"] == "folded" and late_sku not in {i["sku"] for i in replayed["items"]}


def test_purchases_loaded_from_csv_reach_a_running_api_at_its_next_poll(
    served: Served, client: TestClient, cli_env: Settings, tmp_path: Path
) -> None:
    account = served.artifact.accounts.id(17)
    before = recommendations(client, account)
    sku = before["items"][0]["sku"]
    folder = tmp_path / "tonight"
    folder.mkdir()
    (folder / "purchases.csv").write_text(
        "line_id,order_id,account_id,sku,quantity,revenue,ordered_at\n"
        f"CSV-L1,CSV-O1,{account},{sku},1,250,2026-07-03\n"
    )
    with Graph.connect(served.settings) as g:
        seq = change_seq(g)
    loaded = CliRunner().invoke(cli, ["load", str(folder)])
    assert loaded.exit_code == 0, loaded.output
    with Graph.connect(served.settings) as g:
        assert changes_since(g, seq).accounts == [account]
    wait_for(
        lambda: recommendations(client, account)["basis"] == "folded", "the next poll to refold the account"
    )
    assert sku not in {i["sku"] for i in recommendations(client, account)["items"]}


def test_changes_older_than_the_retention_are_pruned(served: Served) -> None:
    with Graph.connect(served.settings) as g:
        old = record_change(g, [served.artifact.accounts.id(40)], "purchases")
        g.write_text("MATCH (c:Change {seq: $seq}) SET c.at = datetime() - duration('P40D')", {"seq": old})
        recent = record_change(g, [served.artifact.accounts.id(41)], "purchases")
        deleted = prune_changes(g, datetime.now(UTC) - timedelta(days=served.settings.change_retention_days))
        assert deleted >= 1
        left = changes_since(g, old - 1)
        assert left.accounts == [served.artifact.accounts.id(41)] and left.seq == recent
        assert change_seq(g) == recent  # numbering goes on from the counter, not the nodes left
