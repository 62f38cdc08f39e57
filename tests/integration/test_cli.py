"""The crossgraph command against the test server, as a user runs it."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossgraph.cli import app
from crossgraph.graph.changes import change_seq, changes_since
from crossgraph.graph.driver import Graph
from crossgraph.settings import Settings
from tests.conftest import FIXTURES
from tests.integration.meddle import meddle_with_ledgers

pytestmark = pytest.mark.neo4j
runner = CliRunner()


def test_init_load_and_stats(graph: Graph, cli_env: Settings) -> None:
    assert runner.invoke(app, ["graph", "init"]).exit_code == 0
    result = runner.invoke(app, ["load", str(FIXTURES / "small")])
    assert result.exit_code == 0, result.output
    assert "11 new order lines" in result.output
    stats = runner.invoke(app, ["graph", "stats", "--json"])
    assert stats.exit_code == 0
    counts = json.loads(stats.output)
    assert counts["nodes"]["Account"] == 4 and counts["relationships"]["BOUGHT"] == 9


def test_bad_input_exits_non_zero_naming_the_place(graph: Graph, cli_env: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(FIXTURES / "small", folder)
    with (folder / "purchases.csv").open("a") as handle:
        handle.write("L99,O99,A1,C-1,1,45,yesterday\n")
    result = runner.invoke(app, ["load", str(folder)])
    assert result.exit_code == 1
    assert "purchases.csv line 13, column 'ordered_at'" in result.output
    assert "Traceback" not in result.output
    stats = json.loads(runner.invoke(app, ["graph", "stats", "--json"]).output)
    assert stats["nodes"] == {}


def test_status_reports_the_running_server(cli_env: Settings) -> None:
    if not cli_env.uses_local_server:
        pytest.skip("external server configured")
    result = runner.invoke(app, ["neo4j", "status", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["running"] is True and status["uri"] == f"bolt://127.0.0.1:{cli_env.neo4j_port}"


def test_clear_needs_confirmation(graph: Graph, cli_env: Settings) -> None:
    runner.invoke(app, ["load", str(FIXTURES / "small")])
    assert runner.invoke(app, ["graph", "clear"]).exit_code == 2
    assert json.loads(runner.invoke(app, ["graph", "stats", "--json"]).output)["nodes"]["Account"] == 4
    assert runner.invoke(app, ["graph", "clear", "--yes"]).exit_code == 0
    assert json.loads(runner.invoke(app, ["graph", "stats", "--json"]).output)["nodes"] == {}


def graph_is_empty() -> bool:
    return json.loads(runner.invoke(app, ["graph", "stats", "--json"]).output)["nodes"] == {}


def test_latin1_file_is_one_clear_line_naming_file_and_line(
    graph: Graph, cli_env: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "latin1"
    shutil.copytree(FIXTURES / "small", folder)
    accounts = folder / "accounts.csv"
    accounts.write_bytes(accounts.read_text().replace("Kessler", "Keßler").encode("latin-1"))
    result = runner.invoke(app, ["load", str(folder)])
    assert result.exit_code == 1
    assert "accounts.csv line 4: byte 0xdf is not UTF-8" in result.output
    assert "nothing was written" in result.output and "Traceback" not in result.output
    assert graph_is_empty()


def test_gzip_compressed_files_load_and_a_folder_with_both_forms_is_refused(
    graph: Graph, cli_env: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "packed"
    shutil.copytree(FIXTURES / "small", folder)
    purchases = folder / "purchases.csv"
    (folder / "purchases.csv.gz").write_bytes(gzip.compress(purchases.read_bytes()))
    both = runner.invoke(app, ["load", str(folder)])
    assert both.exit_code == 1
    assert "holds both purchases.csv and purchases.csv.gz" in both.output
    assert graph_is_empty()
    purchases.unlink()
    result = runner.invoke(app, ["load", str(folder)])
    assert result.exit_code == 0, result.output
    assert "11 new order lines" in result.output


def test_parent_cycle_is_refused_naming_the_rows(graph: Graph, cli_env: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "cycle"
    shutil.copytree(FIXTURES / "small", folder)
    accounts = folder / "accounts.csv"
    accounts.write_text(accounts.read_text().replace("mid,,\n", "mid,,A3\n"))  # A2 -> A3 -> A1 stays a tree
    accounts.write_text(accounts.read_text().replace("large,,\n", "large,,A3\n"))  # A1 -> A3 -> A1
    result = runner.invoke(app, ["load", str(folder)])
    assert result.exit_code == 1
    assert "accounts.csv line 2, column 'parent_id': parent cycle 'A1' -> 'A3' -> 'A1'" in result.output
    assert "accounts.csv line 4, column 'parent_id'" in result.output
    assert "Traceback" not in result.output and graph_is_empty()


def test_import_online_retail_tells_running_apis_which_accounts_it_changed(
    graph: Graph, cli_env: Settings
) -> None:
    """As `load` does: the accounts an import wrote go into the change feed, so running API
    workers refold them at their next poll; importing the file again adds no line."""
    path = FIXTURES / "online_retail.csv"
    before = change_seq(graph)
    result = runner.invoke(app, ["import", "online-retail", str(path)])
    assert result.exit_code == 0, result.output
    assert "6 new order lines" in result.output
    assert sorted(changes_since(graph, before).accounts) == ["12583", "13047", "17850"]
    again = runner.invoke(app, ["import", "online-retail", str(path)])
    assert again.exit_code == 0 and "0 new order lines, 6 already loaded" in again.output


@pytest.mark.parametrize("meddles", [1, 99])
def test_a_load_overlapped_by_another_write_reruns_itself(
    graph: Graph, cli_env: Settings, monkeypatch: pytest.MonkeyPatch, meddles: int
) -> None:
    """Another writer (an API worker) extends a ledger the load is about to extend: once, the
    load reruns and completes (exit 0, the full count of new lines); every time, it gives up
    after its attempts with a message to run it again, and no traceback."""
    assert runner.invoke(app, ["load", str(FIXTURES / "small")]).exit_code == 0
    meddled = meddle_with_ledgers(monkeypatch, meddles)
    result = runner.invoke(app, ["load", str(FIXTURES / "increment")])
    assert "Traceback" not in result.output
    if meddles == 1:
        assert result.exit_code == 0, result.output
        assert "4 new order lines" in result.output
    else:
        assert result.exit_code != 0 and len(meddled) == 3
        assert "run the load again" in result.output
