"""crossgraph kpis on a hand-made graph (tests/fixtures/kpis): every figure checked against hand
arithmetic and against a plain-Python computation over the fixture's CSV rows."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from crossgraph.api.app import create_app
from crossgraph.cli import app
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import load_directory
from crossgraph.intel.kpis import compute_kpis, kpi_history
from crossgraph.keys import ApiKey
from crossgraph.settings import Settings
from tests.conftest import FIXTURES

pytestmark = pytest.mark.neo4j
runner = CliRunner()
KPI_DIR = FIXTURES / "kpis"
AS_OF = date(2024, 7, 1)


@pytest.fixture
def kpi_graph(graph: Graph) -> Graph:
    load_directory(graph, KPI_DIR)
    return graph


def rows(name: str) -> list[dict[str, str]]:
    with (KPI_DIR / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def expected(as_of: date) -> dict[str, Any]:
    """The KPIs of docs/kpis.md, recomputed with datetimes, dicts and sets from the CSV rows."""
    end = datetime.combine(as_of, time())
    start = end.replace(year=end.year - 1)
    prev = end.replace(year=end.year - 2)
    lines = [
        (r["account_id"], r["sku"], datetime.fromisoformat(r["ordered_at"]), float(r["revenue"]))
        for r in rows("purchases")
    ]
    lines = [line for line in lines if line[2] < end]
    this_year = [line for line in lines if start <= line[2]]
    last_year = [line for line in lines if prev <= line[2] < start]

    held: dict[tuple[str, str], datetime] = {}

    def hold(account: str, sku: str, since: datetime) -> None:
        if (account, sku) not in held or since < held[(account, sku)]:
            held[(account, sku)] = since

    for account, sku, at, _ in lines:
        hold(account, sku, at)
    for a in rows("assets"):
        hold(a["account_id"], a["sku"], datetime.fromisoformat(a["installed_at"]))
    for c in rows("contracts"):
        if c["sku"]:
            hold(c["account_id"], c["sku"], datetime.fromisoformat(c["starts_at"]))
    held = {pair: since for pair, since in held.items() if since < end}

    active = sorted({a for a, _, _, _ in this_year})
    bought = {a: {s for b, s, _, _ in this_year if b == a} for a in active}
    category = {p["sku"]: p["category"] for p in rows("products") if p["category"]}
    in_play = {category[s] for (_, s) in held if s in category}
    filled = {(a, category[s]) for (a, s) in held if s in category and a in active}

    upgrades_to = defaultdict(set)
    for u in rows("upgrades"):
        upgrades_to[u["from_sku"]].add(u["to_sku"])

    def reachable(sku: str) -> set[str]:
        out, todo = set(), [sku]
        while todo:
            for nxt in upgrades_to[todo.pop()]:
                if nxt not in out:
                    out.add(nxt)
                    todo.append(nxt)
        return out

    at_start = {pair for pair, since in held.items() if since < start}
    existing = {a for a, _ in at_start}
    new = [line for line in this_year if line[0] in existing and (line[0], line[1]) not in at_start]
    is_upgrade = {(a, s): any(s in reachable(h) for (b, h) in at_start if b == a) for a, s, _, _ in new}
    cross = [line for line in new if not is_upgrade[(line[0], line[1])]]
    upgrade = [line for line in new if is_upgrade[(line[0], line[1])]]

    now: dict[str, float] = defaultdict(float)
    before: dict[str, float] = defaultdict(float)
    for a, _, _, r in this_year:
        now[a] += r
    for a, _, _, r in last_year:
        before[a] += r
    base = [a for a, r in before.items() if r > 0]
    revenue = sum(r for *_, r in this_year)

    contracts = rows("contracts")

    def renewed(c: dict[str, str]) -> bool:
        for n in contracts:
            if n["account_id"] != c["account_id"] or not (n["starts_at"] > c["starts_at"]):
                continue
            same = n["sku"] == c["sku"] or n["sku"] in reachable(c["sku"])
            shared = (
                not n["covers"]
                or not c["covers"]
                or set(n["covers"].split(";")) & set(c["covers"].split(";"))
            )
            if n["ends_at"] > c["ends_at"] and same and shared:
                return True
        return False

    window = [c for c in contracts if as_of <= date.fromisoformat(c["ends_at"]) <= as_of + timedelta(days=90)]
    ending = [c for c in window if not renewed(c)]
    return {
        "as_of": as_of.isoformat(),
        "revenue": revenue,
        "revenue_previous": sum(r for *_, r in last_year),
        "active_accounts": len(active),
        "products_per_customer": ratio(sum(len(b) for b in bought.values()), len(active)),
        "products_per_customer_median": median(len(b) for b in bought.values()),
        "whitespace_filled": ratio(len(filled), len(active) * len(in_play)),
        "whitespace_filled_cells": len(filled),
        "whitespace_cells": len(active) * len(in_play),
        "whitespace_categories": len(in_play),
        "cross_sell_share": ratio(sum(r for *_, r in cross), revenue),
        "cross_sell_revenue": sum(r for *_, r in cross),
        "cross_sell_pairs": len({(a, s) for a, s, _, _ in cross}),
        "cross_sell_accounts": len({a for a, *_ in cross}),
        "upgrade_share": ratio(sum(r for *_, r in upgrade), revenue),
        "upgrade_revenue": sum(r for *_, r in upgrade),
        "upgrade_pairs": len({(a, s) for a, s, _, _ in upgrade}),
        "net_revenue_retention": ratio(sum(now[a] for a in base), sum(before[a] for a in base)),
        "gross_revenue_retention": ratio(
            sum(min(now[a], before[a]) for a in base), sum(before[a] for a in base)
        ),
        "retention_base_accounts": len(base),
        "retention_retained_accounts": sum(1 for a in base if now[a] > 0),
        "retention_revenue_previous": sum(before[a] for a in base),
        "retention_revenue_current": sum(now[a] for a in base),
        "contracts_ending": len(ending),
        "contracts_ending_accounts": len({c["account_id"] for c in ending}),
        "contracts_ending_value": sum(float(c["annual_value"]) for c in ending),
        "contracts_ending_renewed": len(window) - len(ending),
    }


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def assert_matches(actual: dict[str, Any], wanted: dict[str, Any]) -> None:
    for key, value in wanted.items():
        if isinstance(value, float):
            assert actual[key] == pytest.approx(value, abs=1e-6), key
        else:
            assert actual[key] == value, key


def test_every_figure_matches_the_hand_arithmetic(kpi_graph: Graph) -> None:
    k = compute_kpis(kpi_graph, as_of=AS_OF)
    assert (k.year_start, k.previous_start) == (date(2023, 7, 1), date(2022, 7, 1))
    # this year: A1 62,950 A2 7,200 A4 45,300 A5 2,250 A6 62,250 A7 100 A8 7,400 A9 4,000;
    # A2's line at 2023-07-01 00:00 is this year's, A8's on as_of itself is nobody's
    assert k.revenue == pytest.approx(191_450) and k.active_accounts == 8
    assert k.revenue_previous == pytest.approx(65_500)  # A1 50,500 A2 4,000 A3 2,000 A7 0 A8 5,000 A9 4,000
    # distinct products this year: A1 4, A2 3, A4 2, A5 2, A6 2, A7 1, A8 2, A9 1
    assert k.products_per_customer == pytest.approx(17 / 8) and k.products_per_customer_median == 2
    # 5 categories held by someone (not Software); A1 4, A2 2, A4 3, A5 2, A6 2, A7 1 (its asset is
    # installed after as_of), A8 2 (its first C-1 is on as_of), A9 1
    assert (k.whitespace_filled_cells, k.whitespace_cells, k.whitespace_categories) == (17, 40, 5)
    assert k.whitespace_filled == pytest.approx(17 / 40)
    # cross-sell: A1 P-1 2,000 + X-1 150, A2 X-1 200 (its S-B was held through contract K2),
    # A5 T-1 1,800, A6 C-1 250, A8 P-1 2,400; A4 is a new account; upgrades: A1 and A6 (by its
    # installed M-1) to M-1P
    assert k.cross_sell_revenue == pytest.approx(6_800) and k.cross_sell_share == pytest.approx(
        6_800 / 191_450
    )
    assert (k.cross_sell_pairs, k.cross_sell_accounts) == (6, 5)
    assert k.upgrade_revenue == pytest.approx(122_000) and k.upgrade_pairs == 2
    assert k.upgrade_share == pytest.approx(122_000 / 191_450)
    # NRR base: A1 A2 A3 A8 A9 (A5 had nothing last year, A7 only a free sample, A4 is new)
    assert k.retention_base_accounts == 5 and k.retention_retained_accounts == 4
    assert k.retention_revenue_previous == pytest.approx(65_500)
    assert k.retention_revenue_current == pytest.approx(62_950 + 7_200 + 0 + 7_400 + 4_000)
    assert k.net_revenue_retention == pytest.approx(81_550 / 65_500)
    assert k.gross_revenue_retention == pytest.approx((50_500 + 4_000 + 0 + 5_000 + 4_000) / 65_500)
    # ending: K1 (day 0), K1C (61), K4 (45; K4B covers another machine), K8 (day 90);
    # not K2 (day 91) nor K3 (ended yesterday); K9A is renewed by K9B (basic -> premium)
    assert (k.contracts_ending, k.contracts_ending_accounts, k.contracts_ending_renewed) == (4, 3, 1)
    assert k.contracts_ending_value == pytest.approx(6_000 + 3_000 + 11_000 + 5_000)
    assert k.ending_days == 90


@pytest.mark.parametrize("as_of", [AS_OF, date(2024, 7, 2), date(2024, 1, 1), date(2023, 7, 1)])
def test_every_figure_matches_an_independent_computation(kpi_graph: Graph, as_of: date) -> None:
    assert_matches(compute_kpis(kpi_graph, as_of=as_of).to_dict(), expected(as_of))


def test_history_from_one_read_equals_each_day_computed_alone(kpi_graph: Graph) -> None:
    days = [date(2023, 7, 1), date(2024, 1, 1), AS_OF, date(2024, 7, 2)]
    history = kpi_history(kpi_graph, days)
    assert [k.as_of for k in history] == days
    for day, k in zip(days, history, strict=True):
        alone = compute_kpis(kpi_graph, as_of=day).to_dict()
        assert k.to_dict() == pytest.approx(alone), day
    assert kpi_history(kpi_graph, []) == []


def test_default_as_of_is_today_in_utc_as_for_plans_and_recommendations(kpi_graph: Graph) -> None:
    from crossgraph.dates import today

    k = compute_kpis(kpi_graph)
    assert k.as_of == today()
    assert k.to_dict() == compute_kpis(kpi_graph, as_of=today()).to_dict()


def test_an_empty_graph_has_no_ratios(graph: Graph) -> None:
    k = compute_kpis(graph, as_of=AS_OF)
    assert k.active_accounts == 0 and k.revenue == 0
    assert k.products_per_customer is None and k.whitespace_filled is None
    assert k.cross_sell_share is None and k.net_revenue_retention is None
    from crossgraph.dates import today

    assert compute_kpis(graph).as_of == today()


def test_cli_prints_a_table_and_json(kpi_graph: Graph, cli_env: Settings) -> None:
    result = runner.invoke(app, ["kpis", "--as-of", "2024-07-01"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Account growth as of 2024-07-01" in out and "2023-07-01 to 2024-06-30" in out
    for figure in ("2.12", "42.5%", "3.6%", "63.7%", "124.5%", "96.9%", "191,450", "25,000"):
        assert figure in out, figure
    assert "1 more already renewed" in out
    as_json = runner.invoke(app, ["kpis", "--as-of", "2024-07-01", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert_matches(json.loads(as_json.output), expected(AS_OF))
    assert (
        json.loads(runner.invoke(app, ["kpis", "--json"]).output)["as_of"]
        == datetime.now(UTC).date().isoformat()
    )


def test_cli_rejects_a_bad_date(cli_env: Settings) -> None:
    result = runner.invoke(app, ["kpis", "--as-of", "01/07/2024"])
    assert result.exit_code == 1
    assert "--as-of '01/07/2024' is not a date (expected YYYY-MM-DD)" in result.output
    assert "Traceback" not in result.output


def test_the_kpis_route_serves_the_hand_checked_figures(
    kpi_graph: Graph, neo4j_settings: Settings, tmp_path: Path
) -> None:
    """GET /v1/kpis on the hand-made graph: the figures worked out above, not the route's own
    function run a second time."""
    settings = neo4j_settings.model_copy(
        update={
            "model_dir": tmp_path / "models",  # no model: the KPIs need only the graph
            "api_keys": [ApiKey(name="manager", key=SecretStr("kpi-key"), scopes=["read"])],
            "api_keys_file": tmp_path / "no-keys.json",
        }
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/kpis", params={"as_of": "2024-07-01"}, headers={"X-API-Key": "kpi-key"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["revenue"], body["revenue_previous"], body["active_accounts"]) == (191_450, 65_500, 8)
    assert (body["whitespace_filled_cells"], body["whitespace_cells"]) == (17, 40)
    assert body["whitespace_filled"] == pytest.approx(17 / 40, abs=1e-6)
    assert (body["cross_sell_revenue"], body["upgrade_revenue"]) == (6_800, 122_000)
    assert body["net_revenue_retention"] == pytest.approx(81_550 / 65_500, abs=1e-6)
    assert (body["contracts_ending"], body["contracts_ending_value"]) == (4, 25_000)
    assert_matches(body, expected(AS_OF))


def test_the_kpis_route_answers_from_the_nightly_snapshot_and_other_days_live(
    kpi_graph: Graph, neo4j_settings: Settings, tmp_path: Path
) -> None:
    """`crossgraph worklist refresh` writes the KPIs of its day; the route answers a call without
    as_of (or with that day) from the file, stamped with when it was computed, and computes any
    other day from the graph. The figures are the hand-checked ones either way."""
    from crossgraph.intel.nightly import write_nightly

    settings = neo4j_settings.model_copy(
        update={
            "model_dir": tmp_path / "models",
            "worklist_dir": tmp_path / "snapshots",
            "api_keys": [ApiKey(name="manager", key=SecretStr("kpi-key"), scopes=["read"])],
            "api_keys_file": tmp_path / "no-keys.json",
        }
    )
    key = {"X-API-Key": "kpi-key"}
    with TestClient(create_app(settings)) as client:
        live = client.get("/v1/kpis", params={"as_of": "2024-07-01"}, headers=key).json()
        assert live["precomputed"] is False and live["as_of"] == "2024-07-01"
        computed_at = datetime(2024, 7, 1, 2, 30, tzinfo=UTC)
        write_nightly(
            settings.worklist_folder, compute_kpis(kpi_graph, as_of=AS_OF), [], computed_at=computed_at
        )
        for params in ({}, {"as_of": "2024-07-01"}):
            body = client.get("/v1/kpis", params=params, headers=key).json()
            assert body["precomputed"] is True and body["computed_at"] == "2024-07-01T02:30:00+00:00"
            assert (body["revenue"], body["active_accounts"], body["contracts_ending_value"]) == (
                191_450,
                8,
                25_000,
            )
            assert_matches(body, expected(AS_OF))
            assert {k: v for k, v in body.items() if k != "computed_at"} == {
                **{k: v for k, v in live.items() if k != "computed_at"},
                "precomputed": True,
            }
        other = client.get("/v1/kpis", params={"as_of": "2024-01-01"}, headers=key).json()
        assert other["precomputed"] is False and other["as_of"] == "2024-01-01"
        assert_matches(other, expected(date(2024, 1, 1)))
        # a snapshot computed with another acquisition cost is not the answer: CLV/CAC differs
        write_nightly(settings.worklist_folder, compute_kpis(kpi_graph, as_of=AS_OF, cac=5_000.0), [])
        again = client.get("/v1/kpis", headers=key).json()
        assert again["precomputed"] is False and again["clv_to_cac"] is None
