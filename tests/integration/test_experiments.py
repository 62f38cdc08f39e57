"""Online experiments end to end: started with the CLI, picked up by the real API against the
real test Neo4j, every answer and feedback record carrying the account's arm, per-arm counts
equal to what was served and stored, the arm's model in /metrics, and stop recording the result."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from crossgraph.api import schemas
from crossgraph.api.app import create_app
from crossgraph.api.deps import AppState
from crossgraph.cli import app as cli
from crossgraph.experiment.design import Design
from crossgraph.graph.driver import Graph
from crossgraph.settings import Settings
from tests.integration.served import READ, WRITE, Served, build_served, wait_for

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]
runner = CliRunner()


@pytest.fixture(scope="module")
def served(neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Served:
    built = build_served(neo4j_settings, tmp_path_factory.mktemp("experiments"))
    # The first run of each write is planned cold: on a loaded machine that outlived 2 s.
    built.settings = built.settings.model_copy(update={"api_graph_timeout": 20.0})
    return built


@pytest.fixture
def cli_models(cli_env: Settings, served: Served, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from crossgraph.settings import get_settings

    monkeypatch.setenv("CROSSGRAPH_MODEL_DIR", str(served.registry.root))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def state_of(client: TestClient) -> AppState:
    state: AppState = client.app.state.crossgraph  # type: ignore[attr-defined]
    return state


def test_an_experiment_splits_answers_counts_each_arm_and_records_its_result(
    served: Served, cli_models: None
) -> None:
    with Graph.connect(served.settings) as g:
        challenger = served.fit_new_version(g, factors=8)
    current = served.registry.current_version()
    started = runner.invoke(
        cli, ["experiment", "start", "v2-test", "--arms", f"current,{challenger}", "--share", "50/50"]
    )
    assert started.exit_code == 0, started.output
    design = Design("v2-test", ("current", challenger), (50, 50))
    version = {"current": current, challenger: challenger}
    accounts = [served.artifact.accounts.id(i) for i in range(40)]
    assert {design.arm_of(a) for a in accounts} == {"current", challenger}
    shown: Counter[str] = Counter()

    with TestClient(create_app(served.settings)) as client:
        state = state_of(client)
        wait_for(lambda: state.experiments.design == design, "the worker to pick up the experiment")

        def served_arm(body: dict[str, Any], account: str) -> None:
            schemas.RecommendationList.model_validate(body)
            arm = design.arm_of(account)
            assert body["experiment"] == {"name": "v2-test", "arm": arm}
            assert body["model_version"] == version[arm]
            shown[arm] += len(body["items"])

        for account in accounts[:20]:  # the sidebar's fast path
            response = client.get(f"/v1/accounts/{account}/recommendations", headers=READ)
            served_arm(response.json(), account)
        for account in accounts[20:30]:  # the FastAPI route (a parameter the fast path leaves alone)
            response = client.get(f"/v1/accounts/{account}/recommendations?drivers=false", headers=READ)
            served_arm(response.json(), account)
        batch = client.post(
            "/v1/recommendations/batch", json={"accounts": accounts[30:], "limit": 5}, headers=READ
        ).json()
        for account, result in zip(accounts[30:], batch["results"], strict=True):
            served_arm(result, account)

        # An account's evidence, peers and plan come from its arm's model too.
        for account in (next(a for a in accounts if design.arm_of(a) == arm) for arm in design.arms):
            arm_version = version[design.arm_of(account)]
            sku = served.artifact.products.id(0)
            for path in (f"evidence/{sku}", "similar", "plan"):
                response = client.get(f"/v1/accounts/{account}/{path}", headers=READ)
                assert response.status_code == 200, response.text
                assert response.json()["model_version"] == arm_version, path

        posted: Counter[tuple[str, str]] = Counter()
        value: Counter[str] = Counter()
        for n, account in enumerate(accounts[:24]):
            action = ("accepted", "won", "lost", "dismissed")[n % 4]
            sku = served.artifact.products.id(n % 5)
            body = {"account": account, "sku": sku, "action": action, "user": "j.meyer", "id": f"exp-{n}"}
            if action == "won":
                body["value"] = 1000.0 + 250 * n
                value[design.arm_of(account)] += body["value"]
            response = client.post("/v1/feedback", json=body, headers=WRITE)
            assert response.status_code == 201, response.text
            arm = design.arm_of(account)
            assert response.json()["experiment"] == {"name": "v2-test", "arm": arm}
            assert response.json()["model_version"] == version[arm]
            posted[(arm, action)] += 1

        state.experiments.flush(state.graph)  # what the next watcher tick does
        status = client.get("/v1/experiments/v2-test", headers=READ)
        assert status.status_code == 200, status.text
        body = schemas.ExperimentStatus.model_validate(status.json())
        with Graph.connect(served.settings) as g:
            stored = g.write_text(
                "MATCH (f:Feedback {experiment: $name}) "
                "RETURN f.arm AS arm, f.action AS action, count(*) AS n",
                {"name": "v2-test"},
            )
        in_graph = {(r["arm"], r["action"]): r["n"] for r in stored}
        assert in_graph == dict(posted)
        for arm in body.arms:
            assert arm.shown == shown[arm.arm] > 0
            assert (arm.accepted, arm.won, arm.lost, arm.dismissed) == tuple(
                in_graph.get((arm.arm, a), 0) for a in ("accepted", "won", "lost", "dismissed")
            )
            assert arm.won_value == pytest.approx(value[arm.arm])
            assert arm.take_rate is not None and arm.take_rate.value == pytest.approx(
                arm.accepted / arm.shown
            )
        assert body.verdict is None and body.why_no_verdict and "too few" in body.why_no_verdict

        metrics = client.get("/metrics").text
        assert f'crossgraph_model_memory_bytes{{role="current",version="{current}"}}' in metrics
        assert f'crossgraph_model_memory_bytes{{role="arm",version="{challenger}"}}' in metrics

        cli_status = runner.invoke(cli, ["experiment", "status", "v2-test", "--json"])
        assert cli_status.exit_code == 0, cli_status.output
        assert json.loads(cli_status.output)["arms"] == status.json()["arms"]

        stopped = runner.invoke(cli, ["experiment", "stop", "v2-test"])
        assert stopped.exit_code == 0, stopped.output
        assert "no verdict" in stopped.output
        wait_for(lambda: state.experiments.design is None, "the worker to see the experiment stopped")
        after = client.get(f"/v1/accounts/{accounts[0]}/recommendations", headers=READ).json()
        assert after["experiment"] is None and after["model_version"] == current
        assert challenger not in client.get("/metrics").text
        recorded = client.get("/v1/experiments/v2-test", headers=READ).json()
        assert recorded["status"] == "stopped" and recorded["stopped_at"]
        assert recorded["arms"] == status.json()["arms"]  # the result as it stood at stop


def test_the_cli_refuses_what_cannot_run(served: Served, cli_models: None) -> None:
    unknown = runner.invoke(cli, ["experiment", "start", "bad", "--arms", "current,20990101-000000-nothing"])
    assert unknown.exit_code == 1 and "no model version '20990101-000000-nothing'" in unknown.output
    share = runner.invoke(
        cli, ["experiment", "start", "bad", "--arms", "current,current", "--share", "50/50"]
    )
    assert share.exit_code == 1 and "name an arm twice" in share.output
    missing = runner.invoke(cli, ["experiment", "status", "never-started"])
    assert missing.exit_code == 1 and "experiment 'never-started' not found" in missing.output
    with TestClient(create_app(served.settings)) as client:
        response = client.get("/v1/experiments/never-started", headers=READ)
        assert response.status_code == 404 and response.json()["code"] == "experiment_not_found"


def test_one_experiment_at_a_time(served: Served, cli_models: None) -> None:
    challenger = served.registry.versions()[-1].version
    assert (
        runner.invoke(cli, ["experiment", "start", "first", "--arms", f"current,{challenger}"]).exit_code == 0
    )
    second = runner.invoke(cli, ["experiment", "start", "second", "--arms", f"current,{challenger}"])
    assert second.exit_code == 1 and "experiment 'first' is running" in second.output
    assert runner.invoke(cli, ["experiment", "stop", "first"]).exit_code == 0
    again = runner.invoke(cli, ["experiment", "start", "first", "--arms", f"current,{challenger}"])
    assert again.exit_code == 1 and "exists already" in again.output
