"""`crossgraph evaluate` on a purchases file (no Neo4j): which parameters the served row is
fitted with, cutoffs outside the data, output paths checked before any work."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossgraph.cli import app
from crossgraph.errors import InvalidInput
from crossgraph.model.als import ALSParams
from crossgraph.model.baselines import EASEParams
from crossgraph.model.evaluate import (
    BASELINE,
    SERVED,
    EvaluationReport,
    ModelResult,
    evaluate_models,
    render_table,
)
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.registry import Registry
from crossgraph.settings import get_settings
from tests.unit.lines_factory import block_lines, lines_of

LINES = block_lines(n_accounts=48, n_blocks=4, block_size=5, seed=4)  # 2023-01 .. 2023-12
CUTOFF = "2023-08-01"
# Two small, fast parameter sets that differ from each other and from the shipped defaults.
TUNED = HybridParams(
    als=ALSParams(factors=8, regularization=0.1, alpha=5.0, iterations=8), ease=EASEParams(regularization=5.0)
)
OTHER = HybridParams(
    als=ALSParams(factors=6, regularization=0.5, alpha=2.0, iterations=6),
    ease=EASEParams(regularization=20.0, user_exponent=0.25, popularity_exponent=0.2),
    knn_weight=0.0,
)


@pytest.fixture
def purchases(tmp_path: Path) -> Path:
    path = tmp_path / "purchases.csv"
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["line_id", "order_id", "account_id", "sku", "quantity", "revenue", "ordered_at"])
        for i in range(len(LINES)):
            at = str(LINES.ordered_at[i].astype("datetime64[s]")).replace("T", " ")
            out.writerow([LINES.line_id[i], LINES.order_id[i], LINES.account_id[i], LINES.sku[i], 1, 10, at])
    return path


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    """An empty model registry under tmp_path, the one the CLI's settings point at."""
    monkeypatch.setenv("CROSSGRAPH_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    yield Registry(tmp_path / "models")
    get_settings.cache_clear()


def add_version(registry: Registry, version: str, params: HybridParams) -> None:
    """A registry version as far as evaluate reads it: its manifest's parameters."""
    with registry.writing(version) as folder:
        manifest = {"version": version, "params": params.to_dict(), "metrics": {}}
        (folder / "manifest.json").write_text(json.dumps(manifest))


def run(*args: str) -> tuple[int, str]:
    """Exit code and output, with the consoles' line wrapping undone."""
    result = CliRunner().invoke(app, ["evaluate", *args], env={"COLUMNS": "400", "TERMINAL_WIDTH": "400"})
    return result.exit_code, " ".join(result.output.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def two_versions(registry: Registry) -> None:
    """v1 with other parameters, v2 (promoted) with the tuned ones."""
    add_version(registry, "v1", OTHER)
    add_version(registry, "v2", TUNED)
    registry.promote("v2")


def test_evaluate_fits_the_promoted_models_parameters_by_default(
    registry: Registry, purchases: Path, tmp_path: Path
) -> None:
    two_versions(registry)
    out = tmp_path / "eval.json"
    code, output = run("--purchases", str(purchases), "--cutoff", CUTOFF, "--json", str(out))
    assert code == 0, output
    assert "served model: parameters of promoted version v2" in output
    assert "hybrid (ALS + EASE + item-kNN)" in output
    report = json.loads(out.read_text())
    assert report["served_params"] == TUNED.to_dict()
    assert report["served_params_source"].startswith("parameters of promoted version v2")


def test_evaluate_model_option_picks_a_registry_version_and_names_unknown_ones(
    registry: Registry, purchases: Path, tmp_path: Path
) -> None:
    two_versions(registry)
    out = tmp_path / "eval.json"
    code, output = run("--purchases", str(purchases), "--cutoff", CUTOFF, "--model", "v1", "--json", str(out))
    assert code == 0, output
    assert "served model: parameters of version v1" in output
    # what scores the served row, the blend's EASE variant (and so the ease_partner row) named
    assert "hybrid (ALS + EASE (DAN, accounts beta 0.25, products gamma 0.2))" in output
    assert "ease_partner" in output
    assert json.loads(out.read_text())["served_params"] == OTHER.to_dict()

    code, output = run(
        "--purchases", str(purchases), "--cutoff", CUTOFF, "--model", "current", "--json", str(out)
    )
    assert code == 0, output
    assert json.loads(out.read_text())["served_params"] == TUNED.to_dict()

    code, output = run("--purchases", str(purchases), "--cutoff", CUTOFF, "--model", "v9")
    assert code == 1
    assert "no model version 'v9'" in output and "v1, v2" in output
    assert "Traceback" not in output


def test_evaluate_params_option_reads_a_parameters_file_and_excludes_model(
    registry: Registry, purchases: Path, tmp_path: Path
) -> None:
    add_version(registry, "v1", OTHER)
    registry.promote("v1")
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"tune_budget": 0, "model": TUNED.to_dict(), "gate": {"tolerance": 0.02}}))
    out = tmp_path / "eval.json"
    code, output = run(
        "--purchases", str(purchases), "--cutoff", CUTOFF, "--params", str(params), "--json", str(out)
    )
    assert code == 0, output
    assert f"served model: parameters from {params}" in output
    assert json.loads(out.read_text())["served_params"] == TUNED.to_dict()

    code, output = run("--purchases", str(purchases), "--params", str(params), "--model", "v1")
    assert code == 1
    assert "--params and --model" in output and "not both" in output


def test_evaluate_without_a_promoted_model_says_it_uses_the_default_parameters(
    registry: Registry, purchases: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no training/params.json here
    out = tmp_path / "eval.json"
    code, output = run("--purchases", str(purchases), "--cutoff", CUTOFF, "--json", str(out))
    assert code == 0, output
    assert "served model: built-in default parameters (no model promoted in" in output
    assert json.loads(out.read_text())["served_params"] == HybridParams().to_dict()


@pytest.mark.parametrize(
    ("cutoff", "expected"),
    [
        ("2030-01-01", "no test pairs: no purchase on or after the cutoff 2030-01-01"),
        ("2020-01-01", "no training lines: no purchase before the cutoff 2020-01-01"),
    ],
)
def test_a_cutoff_outside_the_data_fails_with_the_data_range(
    registry: Registry, purchases: Path, cutoff: str, expected: str
) -> None:
    code, output = run("--purchases", str(purchases), "--cutoff", cutoff)
    assert code == 1, output
    assert expected in output
    assert "the purchases run from 2023-01-" in output and "to 2023-12-" in output
    assert "inf%" not in output and "Traceback" not in output


def test_a_cutoff_with_purchases_after_it_but_no_new_pairs_is_refused() -> None:
    # After the cutoff, the account only rebuys what it already owns: nothing to test on.
    lines = lines_of(
        [
            ("O1", "A", "P1", "2024-01-05"),
            ("O2", "B", "P2", "2024-01-06"),
            ("O3", "A", "P1", "2024-03-05"),
        ]
    )
    with pytest.raises(InvalidInput, match="no test pairs on or after the cutoff 2024-02-01"):
        evaluate_models(lines, "2024-02-01")


@pytest.mark.parametrize("option", ["--json", "--plot"])
def test_output_paths_are_checked_before_any_work(
    registry: Registry, purchases: Path, tmp_path: Path, option: str
) -> None:
    missing = tmp_path / "nonexistent" / "out.file"
    code, output = run("--purchases", str(purchases), "--cutoff", CUTOFF, option, str(missing))
    assert code == 2, output  # a usage error, before anything ran
    assert f"Invalid value for '{option}': the folder {missing.parent} does not exist" in output
    assert "served model" not in output and "NDCG" not in output  # nothing was evaluated
    assert "Traceback" not in output

    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    code, output = run("--purchases", str(purchases), option, str(a_file / "out.file"))
    assert code == 2 and "is not a folder" in output

    code, output = run("--purchases", str(purchases), option, str(tmp_path))
    assert code == 2 and "is a folder" in output


def test_lift_over_a_zero_baseline_is_shown_as_not_available_not_infinite() -> None:
    zero = {"ndcg@10": 0.0, "ndcg@5": 0.0, "coverage@10": 0.0}
    zero |= {f"{m}@{k}": 0.0 for m in ("precision", "recall", "map", "hit_rate") for k in (5, 10)}
    report = EvaluationReport(
        cutoff="2024-01-01T00:00:00",
        end=None,
        train_lines=3,
        accounts=2,
        products=2,
        test_accounts=1,
        test_pairs=1,
        unseen_product_pairs=0,
        results=[
            ModelResult("hybrid", SERVED, {**zero, "ndcg@10": 0.5}, 0.0, 0.0),
            ModelResult("popularity", BASELINE, zero, 0.0, 0.0),
        ],
        served_params={},
        seconds=0.0,
    )
    assert report.lift_text() == "n/a, best baseline 0"
    assert "inf" not in str(render_table(report).title)
    data = json.loads(report.to_json())  # strict JSON: no Infinity
    assert data["served_lift_ndcg@10"] is None
    assert math.isinf(report.lift())


def test_evaluate_reports_coverage_top_share_and_the_interval_and_reads_segments_from_accounts(
    registry: Registry, purchases: Path, tmp_path: Path
) -> None:
    two_versions(registry)
    accounts = tmp_path / "accounts.csv"
    # Two segments of half the accounts each: segment popularity has something to rank by.
    ids = sorted(set(LINES.account_id))
    accounts.write_text("id,name,segment\n" + "".join(f"{a},{a},S{i % 2}\n" for i, a in enumerate(ids)))
    out = tmp_path / "eval.json"
    args = ("--purchases", str(purchases), "--accounts", str(accounts), "--cutoff", CUTOFF)
    code, output = run(*args, "--json", str(out))
    assert code == 0, output
    assert "purchases.csv: purchases.csv (CSV)" in output
    assert "top1%@10" in output and "cov@10" in output
    assert "95% interval [" in output and "paired bootstrap over" in output
    report = json.loads(out.read_text())
    assert all({"coverage@10", "top1_share@10"} <= set(m["metrics"]) for m in report["models"])
    versus = report["served_vs_best_baseline"]
    assert versus["baseline"] == report["best_baseline"]
    assert versus["low"] <= versus["difference"] <= versus["high"]
    assert versus["distinguishable"] == (versus["low"] > 0 or versus["high"] < 0)
    assert (versus["resamples"], versus["seed"], versus["level"]) == (2000, 0, 0.95)

    code, output = run("--accounts", str(accounts))
    assert code == 1 and "--accounts goes with --purchases" in output


def test_tune_minutes_bounds_the_search_and_the_report_compares_with_the_tuned_baselines(
    registry: Registry, purchases: Path, tmp_path: Path
) -> None:
    two_versions(registry)
    out = tmp_path / "eval.json"
    code, output = run(
        "--purchases", str(purchases), "--cutoff", CUTOFF, "--tune-minutes", "0.2", "--json", str(out)
    )
    assert code == 0, output
    assert (
        "served model: tuned here" in output and "starting from parameters of promoted version v2" in output
    )
    report = json.loads(out.read_text())
    tuning = report["tuning"]
    assert tuning["budget_seconds"] == 12.0
    assert report["served_params"] == tuning["best"]
    assert {t["stage"] for t in tuning["trials"]} >= {"popularity", "ease", "knn", "rp3", "als"}
    assert tuning["guard"]["best_baseline"] in {"popularity", "ease", "knn"}


def test_above_the_dense_threshold_evaluate_caps_ease_and_prints_which_rows_it_capped(
    registry: Registry, purchases: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_versions(registry)
    monkeypatch.setenv("CROSSGRAPH_DENSE_MAX_PRODUCTS", "10")  # the history has 20 products
    get_settings.cache_clear()
    out = tmp_path / "eval.json"
    code, output = run("--purchases", str(purchases), "--cutoff", CUTOFF, "--json", str(out))
    assert code == 0, output
    reason = "fitted on the 10 best-selling of 20 products (CROSSGRAPH_DENSE_MAX_PRODUCTS)"
    shown = " ".join(output.split())
    assert f"capped: ease_partner (top 10 products) ({reason}), ease (top 10 products) ({reason})" in shown
    assert f"served: ease ({reason})" in shown and "left out" not in shown
    report = json.loads(out.read_text())
    assert "ease (top 10 products)" in {m["name"] for m in report["models"] if m["role"] == "baseline"}
    assert report["capped"]["served: ease"] == reason and report["left_out"] == {}


def test_above_the_dense_threshold_evaluate_prints_which_ease_rows_it_left_out(
    registry: Registry, purchases: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_versions(registry)
    monkeypatch.setenv("CROSSGRAPH_DENSE_MAX_PRODUCTS", "10")  # the history has 20 products
    monkeypatch.setenv("CROSSGRAPH_DENSE_EASE", "leave-out")
    get_settings.cache_clear()
    out = tmp_path / "eval.json"
    code, output = run("--purchases", str(purchases), "--cutoff", CUTOFF, "--json", str(out))
    assert code == 0, output
    reason = "20 products > 10 (CROSSGRAPH_DENSE_MAX_PRODUCTS)"
    assert f"left out: ease_partner ({reason}), ease ({reason}), served: ease ({reason})" in output
    report = json.loads(out.read_text())
    assert "ease" not in {m["name"] for m in report["models"]}
    assert report["left_out"]["served: ease"] == reason


def test_the_deprecated_trial_count_tunes_for_three_minutes_and_says_so() -> None:
    from crossgraph.cli.train_cmds import tuning_minutes

    said: list[str] = []
    assert tuning_minutes(None, 8, said.append) == 3.0
    assert "deprecated" in said[0] and "--tune-minutes" in said[0]
    assert tuning_minutes(1.5, 8, said.append) == 1.5 and len(said) == 1
    assert tuning_minutes(None, None, said.append) == 0.0
    with pytest.raises(InvalidInput, match="tune_minutes"):
        tuning_minutes("soon", None, said.append)
