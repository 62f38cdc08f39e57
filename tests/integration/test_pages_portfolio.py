"""The manager pages (worklist, whitespace, KPIs, model) through TestClient with the app's
lifespan, a real small fit and the real test Neo4j: what a manager sees, checked against the
JSON API and the core functions, and who may see and do what."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crossgraph.api.app import create_app
from crossgraph.graph.driver import Graph
from crossgraph.intel.nightly import refresh_nightly
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.nba import ListOptions, recommendation_list
from crossgraph.settings import Settings
from crossgraph.web.kpidefs import KPIS
from crossgraph.web.opportunity import PAGE_SIZE, TOP
from crossgraph.web.users import create_user
from tests.integration.served import ADMIN, READ, Served, build_served

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]
PASSWORD = "correct horse battery"
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def served(neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Served:
    root = tmp_path_factory.mktemp("pages")
    found = build_served(neo4j_settings, root)
    found.settings = found.settings.model_copy(update={"users_file": root / "users.json"})
    for name, role in (("rita", "rep"), ("max", "manager"), ("ada", "admin")):
        create_user(found.settings.users_path, name, role, PASSWORD)
    return found


@pytest.fixture
def app_client(served: Served) -> Iterator[TestClient]:
    with TestClient(create_app(served.settings)) as c:
        yield c


def sign_in(client: TestClient, name: str) -> TestClient:
    response = client.post(
        "/ui/login", data={"username": name, "password": PASSWORD, "next": "/ui/"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def manager(app_client: TestClient) -> TestClient:
    return sign_in(app_client, "max")


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]


class Collect(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[Node] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.nodes.append(Node(tag, {k: v or "" for k, v in attrs}))


def tags(html: str, tag: str, attr: str) -> list[dict[str, str]]:
    parser = Collect()
    parser.feed(html)
    return [n.attrs for n in parser.nodes if n.tag == tag and attr in n.attrs]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def engine_of(served: Served) -> Engine:
    return Engine(served.artifact)


# -- worklist ---------------------------------------------------------------------------
def test_worklist_ranks_every_account_by_its_cross_sell_value_and_totals_the_full_list(
    served: Served, manager: TestClient
) -> None:
    response = manager.get("/ui/worklist", headers=HTML)
    assert response.status_code == 200, response.text
    assert "Opportunity value" in response.text and "cross-sell, upsell and renewal" in response.text
    rows = tags(response.text, "tr", "data-account")
    assert len(rows) == PAGE_SIZE

    engine = engine_of(served)

    def cross_sell(account: str) -> float:
        body = recommendation_list(engine, lambda _: None, account, ListOptions(limit=TOP))
        return sum(i["expected_value"] for i in body["items"])

    values = {a: cross_sell(a) for a in engine.account_ids}
    expected = sorted(engine.account_ids, key=lambda a: -values[a])  # stable: model order on ties
    assert [r["data-account"] for r in rows] == expected[:PAGE_SIZE]
    assert [float(r["data-rank-value"]) for r in rows] == pytest.approx(
        [values[a] for a in expected[:PAGE_SIZE]]
    )

    # The total is the account page's list, all kinds, as the JSON API gives it.
    first = rows[0]["data-account"]
    api = manager.get(
        f"/v1/accounts/{first}/recommendations",
        params={"kinds": "cross_sell,upsell,renewal", "limit": TOP},
        headers=READ,
    ).json()
    assert float(rows[0]["data-total"]) == pytest.approx(
        sum(i["expected_value"] for i in api["items"]), abs=0.01
    )
    assert f'href="/ui/accounts/{first}"' in response.text

    second = manager.get("/ui/worklist", params={"page": 2}, headers=HTML)
    assert [r["data-account"] for r in tags(second.text, "tr", "data-account")] == expected[
        PAGE_SIZE : 2 * PAGE_SIZE
    ]


def test_worklist_filters_by_country(served: Served, manager: TestClient) -> None:
    engine = engine_of(served)
    country = max(set(engine.countries), key=lambda c: engine.countries.count(c))
    response = manager.get("/ui/worklist", params={"country": country}, headers=HTML)
    shown = [r["data-account"] for r in tags(response.text, "tr", "data-account")]
    assert shown and all(engine.countries[engine.account_index[a]] == country for a in shown)
    assert f"({engine.countries.count(country)} accounts)" in response.text


# -- whitespace -------------------------------------------------------------------------
def test_heatmap_cells_are_the_api_matrix_and_the_csv_is_the_api_csv(manager: TestClient) -> None:
    params = {"by": "product", "top": 6, "limit": 9}
    page = manager.get("/ui/whitespace", params=params, headers=HTML)
    assert page.status_code == 200, page.text
    api = manager.get("/v1/whitespace", params=params, headers=READ).json()
    cells = tags(page.text, "td", "data-account")
    assert len(cells) == 6 * 9
    by_key = {(c["data-account"], c["data-column"]): c for c in cells}
    for account, row in zip(api["accounts"], api["cells"], strict=True):
        for column, cell in zip(api["columns"], row, strict=True):
            shown = by_key[(account["id"], column["sku"])]
            assert shown["data-owned"] == ("yes" if cell["owned"] else "no")
            if cell["owned"]:
                assert "owned" in shown["class"].split()
                assert float(shown["data-revenue"]) == pytest.approx(cell["revenue"], abs=0.01)
            else:
                assert float(shown["data-score"]) == pytest.approx(cell["score"], abs=1e-5)
                assert float(shown["data-share"]) == pytest.approx(cell["peer_share"], abs=1e-3)
                assert re.search(r"\bh[0-9]\b", shown["class"])
    assert "legend" in page.text and page.text.count('class="h') >= 10

    mine = manager.get("/ui/whitespace.csv", params=params)
    theirs = manager.get("/v1/whitespace", params={**params, "format": "csv"}, headers=READ)
    assert mine.status_code == 200 and mine.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(mine.text))) == list(csv.reader(io.StringIO(theirs.text)))


def test_heatmap_cell_opens_the_evidence_of_its_account_and_product(
    served: Served, manager: TestClient
) -> None:
    engine = engine_of(served)
    accounts = engine.account_ids[3:6]
    page = manager.get(
        "/ui/whitespace", params={"accounts": ",".join(accounts), "by": "category"}, headers=HTML
    )
    links = tags(page.text, "a", "data-why")
    assert links
    link = links[0]["data-why"]
    account, sku = re.fullmatch(r"/ui/accounts/([^/]+)/why/(.+)", link).groups()  # type: ignore[union-attr]
    assert account in accounts
    fragment = manager.get(link)
    assert fragment.status_code == 200
    assert engine.product_names[engine.product_index[sku]] in fragment.text


def test_sorting_rows_by_total_puts_the_biggest_open_total_first(manager: TestClient) -> None:
    page = manager.get("/ui/whitespace", params={"by": "product", "top": 8, "rows": "total"}, headers=HTML)
    cells = tags(page.text, "td", "data-account")
    totals: dict[str, float] = {}
    for c in cells:
        if c["data-owned"] == "no":
            score = max(float(c.get("data-score", 0)), 0.0)
            totals[c["data-account"]] = totals.get(c["data-account"], 0.0) + score
    order = list(dict.fromkeys(c["data-account"] for c in cells))
    assert [totals.get(a, 0.0) for a in order] == sorted((totals.get(a, 0.0) for a in order), reverse=True)


# -- KPIs -------------------------------------------------------------------------------
def test_kpi_page_defines_every_figure_and_charts_its_history(manager: TestClient) -> None:
    page = manager.get("/ui/kpis", headers=HTML)
    assert page.status_code == 200, page.text
    api = manager.get("/v1/kpis", headers=READ).json()
    for d in KPIS:
        assert d.title in page.text
        assert d.formula.replace("(", "").split()[0] in page.text
    assert f"Reporting day <strong>{api['as_of']}</strong>" in page.text
    assert f"{api['active_accounts']:,} active accounts" in page.text
    assert page.text.count('<svg class="chart lines"') == sum(d.chart for d in KPIS)
    nrr = api["net_revenue_retention"]
    assert f"{nrr:.0%}" in page.text


def kpi_grid(html: str) -> str:
    found = re.search(r'<div class="kpi-grid">.*?</div>\s*<footer', html, re.S)
    assert found, html
    return found.group(0)


def test_kpi_and_whitespace_pages_answer_from_the_nightly_snapshot_and_say_when(
    served: Served, manager: TestClient, tmp_path: Path
) -> None:
    """After `crossgraph worklist refresh`, the KPI page shows the snapshot's day with the same
    figures and quarterly history as computed from the graph for that day, stamped with when
    they were computed; the heatmap's top accounts are the snapshot's ranking, and it says so."""
    day = date(2026, 6, 30)
    live = manager.get("/ui/kpis", params={"as_of": day.isoformat()}, headers=HTML)
    assert "Computed from the graph at " in live.text
    heat_params = {"by": "product", "top": 8, "limit": 6}
    live_heat = manager.get("/ui/whitespace", params=heat_params, headers=HTML)
    assert "as ranked at" not in live_heat.text
    settings = served.settings.model_copy(update={"worklist_dir": tmp_path / "snapshots"})
    with Graph.connect(settings) as g:
        refresh_nightly(
            g,
            settings.worklist_folder,
            as_of=day,
            cac=settings.kpi_cac,
            computed_at=datetime(2026, 7, 1, 2, 30, tzinfo=UTC),
        )
    with TestClient(create_app(settings)) as client:
        nightly = sign_in(client, "max")
        page = nightly.get("/ui/kpis", headers=HTML)  # no day asked: the snapshot's, not today
        assert page.status_code == 200, page.text
        assert f"Reporting day <strong>{day}</strong>" in page.text
        assert "As of 2026-07-01 02:30 UTC, from the nightly refresh" in page.text
        assert kpi_grid(page.text) == kpi_grid(live.text)
        heat = nightly.get("/ui/whitespace", params=heat_params, headers=HTML)
        assert "top accounts by revenue as ranked at 2026-07-01T02:30:00+00:00" in heat.text
        rows = [c["data-account"] for c in tags(heat.text, "td", "data-account")]
        assert rows == [c["data-account"] for c in tags(live_heat.text, "td", "data-account")]


def test_kpi_page_refuses_a_reporting_day_out_of_range_or_not_a_day(manager: TestClient) -> None:
    for value in ("0001-01-01", "9999-12-31", "0"):
        page = manager.get("/ui/kpis", params={"as_of": value}, headers=HTML)
        assert page.status_code == 422 and "as_of" in page.text, page.text
    assert manager.get("/ui/kpis", params={"as_of": "2999-12-31"}, headers=HTML).status_code == 200


# -- model ------------------------------------------------------------------------------
def test_model_page_lists_versions_with_metrics_and_no_button_for_a_manager(
    served: Served, manager: TestClient
) -> None:
    page = manager.get("/ui/model", headers=HTML)
    assert page.status_code == 200, page.text
    for info in served.registry.versions():
        assert f'data-version="{info.version}"' in page.text
    assert "serving" in page.text and "ndcg@10" in page.text.lower()
    assert "/ui/model/rollback" not in page.text
    # The fused list's likelihood per signal, as /v1/model gives it.
    signals = [row["data-signal"] for row in tags(page.text, "tr", "data-signal")]
    model = manager.get("/v1/model", headers=READ).json()
    assert signals == ["cross_sell", *(item["signal"] for item in model["likelihoods"])]


# -- who may --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/ui/worklist", "/ui/whitespace", "/ui/kpis", "/ui/model"])
def test_a_rep_is_refused_manager_pages_and_a_stranger_is_sent_to_sign_in(
    app_client: TestClient, path: str
) -> None:
    stranger = app_client.get(path, headers=HTML, follow_redirects=False)
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/ui/login")
    sign_in(app_client, "rita")
    assert app_client.get(path, headers=HTML).status_code == 403


def test_rollback_needs_an_admin_and_the_form_token(served: Served, app_client: TestClient) -> None:
    before = served.registry.current_version()
    sign_in(app_client, "max")
    token = csrf_of(app_client.get("/ui/model", headers=HTML).text)  # the sign-out form's token
    refused = app_client.post("/ui/model/rollback", data={"csrf": token}, follow_redirects=False)
    assert refused.status_code == 403
    sign_in(app_client, "ada")
    no_token = app_client.post("/ui/model/rollback", data={}, follow_redirects=False)
    assert no_token.status_code == 403
    assert served.registry.current_version() == before


def test_admin_rollback_serves_and_writes_back_the_previous_version(
    served: Served, app_client: TestClient, neo4j_settings: Settings
) -> None:
    original = served.registry.current_version()
    assert original is not None
    with Graph.connect(neo4j_settings) as g:
        newer = served.fit_new_version(g, factors=8)
    served.registry.promote(newer)
    app_client.post("/v1/admin/reload", headers=ADMIN)
    assert app_client.get("/v1/model", headers=READ).json()["version"] == newer

    sign_in(app_client, "ada")
    page = app_client.get("/ui/model", headers=HTML)
    assert (
        "/ui/model/rollback" in page.text and "disabled" not in page.text.split("/ui/model/rollback")[1][:400]
    )
    done = app_client.post("/ui/model/rollback", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/ui/model?done=rolled_back")

    assert served.registry.current_version() == original
    assert app_client.get("/v1/model", headers=READ).json()["version"] == original  # no reload needed
    shown = app_client.get(done.headers["location"], headers=HTML).text
    assert f"Rollback from {newer} to {original}" in shown
    with Graph.connect(neo4j_settings) as g:
        versions = g.driver.execute_query(
            "MATCH ()-[r:RECOMMENDED]->() RETURN collect(DISTINCT r.model_version) AS v"
        ).records[0]["v"]
    assert versions == [original]
