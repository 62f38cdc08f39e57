"""The account worklist on demo data in a real Neo4j with a real model: each row agrees with the
account's plan, the snapshot pages, sorts and filters over the API and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from crossgraph.api.app import create_app, intel_config
from crossgraph.errors import InvalidInput
from crossgraph.graph.driver import Graph
from crossgraph.graph.feedback import Feedback, record_feedback, suppressions
from crossgraph.intel.kpis import compute_kpis
from crossgraph.intel.potential import PotentialConfig
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.plan import build_plan
from crossgraph.recommend.review import build_review, to_markdown
from crossgraph.recommend.worklist import account_row, build_worklist, latest_snapshot, write_snapshot
from crossgraph.settings import Settings, get_settings
from tests.integration.served import NEW_ACCOUNT, READ, Served, build_served

pytestmark = pytest.mark.neo4j
AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def served(neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Served:
    served = build_served(neo4j_settings, tmp_path_factory.mktemp("worklist"), accounts=120)
    folder = tmp_path_factory.mktemp("worklist-snapshots")
    served.settings = served.settings.model_copy(update={"worklist_dir": folder})
    return served


@pytest.fixture(scope="module")
def worklist(served: Served) -> dict[str, Any]:
    engine = Engine(served.artifact)
    with Graph.connect(served.settings) as g:
        return build_worklist(engine, g, as_of=AS_OF, intel=intel_config(served.settings), workers=3)


@pytest.fixture
def client(served: Served) -> Iterator[TestClient]:
    with TestClient(create_app(served.settings)) as c:
        yield c


def test_every_account_has_a_row_that_agrees_with_its_plan(served: Served, worklist: dict[str, Any]) -> None:
    rows = {r["id"]: r for r in worklist["rows"]}
    assert len(rows) == 121 and NEW_ACCOUNT in rows  # the account newer than the model is there too
    engine = Engine(served.artifact)
    intel = intel_config(served.settings)
    checked = 0
    with Graph.connect(served.settings) as g:
        for account in sorted(rows)[:12]:
            row = rows[account]
            plan = build_plan(engine, lambda call: call(g), account, as_of=AS_OF, intel=intel)
            first = plan["opportunities"][0] if plan["opportunities"] else None
            assert (row["top_opportunity"] or {}).get("sku") == (first or {}).get("sku"), account
            assert row["open_value"] == pytest.approx(sum(o["expected_value"] for o in plan["opportunities"]))
            soon = any(0 <= c["days_left"] <= 90 for c in plan["contracts"])
            assert ("contract_ends_soon" in row["flags"]) == soon, account
            assert ("upsell_talk_due" in row["flags"]) == plan["touchpoints"]["upsell_conversation_due"]
            assert ("key_contact_left" in row["flags"]) == any(
                r["flag"] == "key_contact_left" for r in plan["risks"]
            )
            weighted = sum(c["value"] * c["weight"] for c in row["components"].values())
            assert row["potential"] == pytest.approx(100 * weighted, abs=0.51)
            checked += 1
    assert checked == 12


def test_rows_read_a_page_at_a_time_are_each_accounts_own(served: Served) -> None:
    """The refresh reads the facts of a page of accounts in one query; every row is still the
    one the account gives computed alone (no peer, contract or purchase of another account of
    its page leaks in), over pages that split the accounts unevenly."""
    engine = Engine(served.artifact)
    intel = intel_config(served.settings)
    since = datetime.combine(AS_OF - timedelta(days=90), datetime.min.time(), UTC)
    with Graph.connect(served.settings) as g:
        paged = build_worklist(engine, g, as_of=AS_OF, intel=intel, page=7, workers=2, keep_lists=False)
        hidden = suppressions(g, since)
        alone = {
            a["id"]: account_row(
                engine,
                lambda call: call(g),
                a,
                AS_OF,
                intel,
                PotentialConfig(),
                hidden.get(a["id"], frozenset()),
            )
            for a in g.read("worklist_accounts")
        }
    assert [r["id"] for r in paged["rows"]] == sorted(alone) and len(alone) == 121
    for row in paged["rows"]:
        assert row == alone[row["id"]], row["id"]


def test_machines_drive_the_potential(worklist: dict[str, Any]) -> None:
    """Accounts without machines can score only on configuration and contract; those with old,
    busy machines score higher than those without."""
    rows = worklist["rows"]
    without = [r for r in rows if r["components"]["since_upgrade"]["detail"] == "no machines"]
    with_machines = [r for r in rows if r["components"]["age"]["value"] > 0]
    assert with_machines
    assert all(r["potential"] <= 35 for r in without)
    busiest = max(
        with_machines,
        key=lambda r: (r["components"]["age"]["value"], r["components"]["utilization"]["value"]),
    )
    assert busiest["potential"] >= 50


def test_the_api_pages_sorts_and_filters_the_newest_snapshot(
    served: Served, worklist: dict[str, Any], client: TestClient
) -> None:
    missing = client.get("/v1/accounts", headers=READ)
    assert missing.status_code == 503 and missing.json()["code"] == "worklist_not_ready"
    assert "crossgraph worklist refresh" in missing.json()["detail"]
    write_snapshot(served.settings.worklist_folder, worklist)
    assert client.get("/v1/accounts").status_code == 401

    first = client.get("/v1/accounts", params={"limit": 10}, headers=READ)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["total"] == 121 and len(body["items"]) == 10 and body["as_of"] == "2026-06-30"
    everything = client.get("/v1/accounts", params={"limit": 500}, headers=READ).json()["items"]
    scores = [r["potential"] for r in everything]
    assert scores == sorted(scores, reverse=True)
    assert [r["id"] for r in everything[:10]] == [r["id"] for r in body["items"]]
    second = client.get("/v1/accounts", params={"limit": 10, "offset": 10}, headers=READ).json()["items"]
    assert [r["id"] for r in second] == [r["id"] for r in everything[10:20]]

    by_value = client.get("/v1/accounts", params={"sort": "open_value", "limit": 500}, headers=READ).json()
    values = [r["open_value"] for r in by_value["items"]]
    assert values == sorted(values, reverse=True)
    owner = everything[0]["owner"]
    mine = client.get("/v1/accounts", params={"owner": owner.upper(), "limit": 500}, headers=READ).json()
    assert mine["total"] == sum(r["owner"] == owner for r in everything) > 0
    assert {r["owner"] for r in mine["items"]} == {owner}
    due = client.get(
        "/v1/accounts", params={"flag": "upsell_talk_due,contract_ends_soon", "limit": 500}, headers=READ
    ).json()
    assert due["total"] == sum(
        {"upsell_talk_due", "contract_ends_soon"} <= set(r["flags"]) for r in everything
    )
    bad = client.get("/v1/accounts", params={"flag": "hot"}, headers=READ)
    assert bad.status_code == 422 and "flag" in bad.json()["detail"]
    assert client.get("/v1/accounts", params={"sort": "name"}, headers=READ).status_code == 422


def test_the_cli_refreshes_and_shows_the_worklist(
    served: Served, cli_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from crossgraph.cli import app

    monkeypatch.setenv("CROSSGRAPH_MODEL_DIR", str(served.settings.model_dir))
    monkeypatch.setenv("CROSSGRAPH_WORKLIST_DIR", str(tmp_path / "snapshots"))
    get_settings.cache_clear()
    empty = CliRunner().invoke(app, ["worklist"])
    assert empty.exit_code == 1 and "crossgraph worklist refresh" in empty.output
    result = CliRunner().invoke(app, ["worklist", "refresh", "--as-of", "2026-06-30", "--workers", "2"])
    assert result.exit_code == 0, result.output
    snapshot = latest_snapshot(tmp_path / "snapshots")
    assert snapshot is not None and "121 accounts as of 2026-06-30" in result.output
    # ... and the KPIs of that day, which GET /v1/kpis then answers without asking the graph
    assert "KPIs as of 2026-06-30 (with their quarterly history) and the top" in result.output
    settings = served.settings.model_copy(update={"worklist_dir": tmp_path / "snapshots"})
    with TestClient(create_app(served.settings)) as client:  # no nightly file there: ranked live
        ranked_live = client.get("/v1/whitespace", params={"top": 4, "limit": 3}, headers=READ).json()
    with TestClient(create_app(settings)) as client:
        kpis = client.get("/v1/kpis", headers=READ).json()
        live = client.get("/v1/kpis", params={"as_of": "2026-07-01"}, headers=READ).json()
        ranked = client.get("/v1/whitespace", params={"top": 4, "limit": 3}, headers=READ).json()
    # the whitespace rows come from the refresh's ranking (the same accounts, a note says when)
    assert [a["id"] for a in ranked["accounts"]] == [a["id"] for a in ranked_live["accounts"]]
    assert ranked["cells"] == ranked_live["cells"] and ranked["row_order"] == "revenue"
    assert any("as ranked at" in n for n in ranked["notes"])
    assert not any("as ranked at" in n for n in ranked_live["notes"])
    with Graph.connect(served.settings) as g:
        wanted = compute_kpis(g, as_of=AS_OF).to_dict()
    assert kpis["precomputed"] is True and kpis["as_of"] == "2026-06-30" and kpis["active_accounts"] > 0
    assert {k: v for k, v in kpis.items() if k not in ("computed_at", "precomputed")} == wanted
    assert live["precomputed"] is False and live["as_of"] == "2026-07-01"
    shown = CliRunner().invoke(app, ["worklist", "--limit", "5", "--sort", "revenue", "--json"])
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.output)["rows"]
    revenue = [r["revenue_12m"] for r in rows]
    assert len(rows) == 5 and revenue == sorted(revenue, reverse=True)
    assert json.loads(shown.output)["as_of"] == "2026-06-30"
    # The refresh kept 2026Q2's lists: the review reads them (Q1 has none: it says so)
    page = tmp_path / "review.md"
    account = rows[0]["id"]
    reviewed = CliRunner().invoke(
        app,
        ["review", "--quarter", "2026Q2", "--accounts", account, "--as-of", "2026-06-30", "--out", str(page)],
    )
    assert reviewed.exit_code == 0, reviewed.output
    text = page.read_text()
    assert text.startswith("# Quarterly account review 2026Q2") and f"({account})" in text
    assert "no list was kept for the previous quarter" in text
    bad = CliRunner().invoke(app, ["review", "--quarter", "2026Q5"])
    assert bad.exit_code == 1 and "quarter" in bad.output


def test_the_quarterly_review_compares_the_lists_kept_in_two_quarters(served: Served) -> None:
    """Q1's list is kept by a refresh on 2026-03-31; in Q2 a rep wins one of its products and
    dismisses another; Q2's refresh keeps the list without them. The review of Q2 reports the win
    as converted, the dismissal as dead, and the products new on Q2's list as new."""
    engine = Engine(served.artifact)
    intel = intel_config(served.settings)
    account = engine.account_ids[3]
    with Graph.connect(served.settings) as g:
        build_worklist(engine, g, as_of=date(2026, 3, 31), intel=intel, accounts=[account], workers=1)
        q1 = g.read("review_lists", {"ids": [account], "quarters": ["2026Q1"]})[0]["skus"]
        assert len(q1) >= 3, q1
        won, dismissed = q1[0], q1[1]
        for n, (sku, action) in enumerate(((won, "won"), (dismissed, "dismissed"))):
            at = datetime(2026, 5, 2 + n, 9, tzinfo=UTC)
            record_feedback(g, Feedback(f"review-{n}", account, sku, action, "rita", at))  # type: ignore[arg-type]
        build_worklist(engine, g, as_of=date(2026, 6, 30), intel=intel, accounts=[account], workers=1)
        q2 = g.read("review_lists", {"ids": [account], "quarters": ["2026Q2"]})[0]["skus"]
        review = build_review(engine, g, "2026Q2", accounts=[account], intel=intel, as_of=date(2026, 6, 30))
    item = review["accounts"][0]
    assert review["quarter"] == "2026Q2" and review["previous_quarter"] == "2026Q1"
    assert review["quarter_complete"] is True and item["notes"] == []
    assert won not in q2 and dismissed not in q2  # both left the account's list
    converted = {c["sku"]: c["how"] for c in item["converted"]}
    assert converted[won] == "won"
    dead = {d["sku"]: d["why"] for d in item["dead"]}
    assert dead[dismissed] == "dismissed"
    assert {n["sku"] for n in item["new"]} == set(q2) - set(q1)
    for sku in dead:  # everything dead left the list and was not converted
        assert sku not in q2 and sku not in converted
    markdown = to_markdown(review)
    assert f"## {item['account']['name']} ({account})" in markdown
    assert " - won" in markdown and " - dismissed" in markdown


def test_a_review_without_kept_lists_says_so(served: Served) -> None:
    engine = Engine(served.artifact)
    intel = intel_config(served.settings)
    with Graph.connect(served.settings) as g:
        review = build_review(engine, g, "2025Q3", share=0.5, intel=intel, as_of=date(2025, 9, 30))
        with pytest.raises(InvalidInput, match="quarter"):
            build_review(engine, g, "2026Q5")
    assert review["accounts"], "the top accounts by revenue are reviewed"
    notes = review["accounts"][0]["notes"]
    assert any("no list was kept for this quarter" in n for n in notes)
    assert any("no list was kept for the previous quarter" in n for n in notes)
    assert review["revenue_12m_covered"] >= 0.5 * review["revenue_12m_total"]
