"""The evaluation report and the tuner, end to end on a small synthetic history."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crossgraph.model.als import ALSParams
from crossgraph.model.baselines import EASEParams
from crossgraph.model.evaluate import EvaluationConfig, evaluate_models, plot_report, render_table
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.tuning import SearchSpace, tune
from tests.unit.lines_factory import block_lines

LINES = block_lines(n_accounts=48, n_blocks=4, block_size=5, seed=4)
CUTOFF = "2023-08-01"
FAST_ALS = ALSParams(factors=8, regularization=0.1, alpha=5.0, iterations=8)
FAST = HybridParams(als=FAST_ALS, ease=EASEParams(regularization=5.0), knn_weight=0.5)
SEGMENTS = {f"A{a:02d}": ("north" if a % 2 else "south") for a in range(48)}


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    config = EvaluationConfig(served=FAST, als=FAST_ALS, ease=EASEParams(regularization=5.0))
    return evaluate_models(LINES, CUTOFF, segments=SEGMENTS, config=config)


def test_the_report_has_every_model_with_every_metric_at_5_and_10(report) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(report.to_json())
    names = [m["name"] for m in data["models"]]
    assert names == ["hybrid", "als", "popularity", "segment_popularity", "item_knn_bm25", "ease"]
    assert [m["role"] for m in data["models"]][:2] == ["served", "reference"]
    for model in data["models"]:
        for metric in ("precision", "recall", "ndcg", "map", "hit_rate", "coverage"):
            for k in (5, 10):
                assert 0.0 <= model["metrics"][f"{metric}@{k}"] <= 1.0
    assert data["split"]["test_accounts"] > 0 and data["split"]["test_pairs"] > 0
    assert data["served_params"] == FAST.to_dict()


def test_collaborative_models_beat_popularity_on_block_structured_buying(report) -> None:  # type: ignore[no-untyped-def]
    by_name = {r.name: r.metrics["ndcg@10"] for r in report.results}
    assert by_name["hybrid"] > by_name["popularity"] + 0.1
    assert by_name["ease"] > by_name["popularity"] + 0.1
    assert report.best_baseline().name in {"ease", "item_knn_bm25"}
    assert report.lift() == pytest.approx(by_name["hybrid"] / report.best_baseline().metrics["ndcg@10"] - 1)


def test_table_and_plot_render(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = render_table(report)
    assert table.row_count == len(report.results)
    assert len(table.columns) == 2 + 2 * 5 + 2
    png = plot_report(report, tmp_path / "models.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


SPACE = SearchSpace(
    factors=(4, 8),
    regularization=(0.1, 1.0),
    alpha=(1.0, 5.0),
    iterations=(5,),
    ease_regularization=(5.0,),
    ease_half_life_days=(None, 60.0),
    blend_weights=(0.0, 1.0),
)


def run_tune(seed: int):  # type: ignore[no-untyped-def]
    return tune(LINES, CUTOFF, space=SPACE, budget=3, seed=seed, window_days=45, n_folds=2, start=FAST)


def test_tuning_is_deterministic_and_reads_only_the_training_period() -> None:
    first, second = run_tune(0), run_tune(0)
    assert first.best == second.best
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    assert {t.stage for t in first.trials} == {"als", "ease", "blend"}
    assert len([t for t in first.trials if t.stage == "als"]) == 1 + 3  # start + budget
    assert len([t for t in first.trials if t.stage == "blend"]) == 4
    assert all(np.datetime64(f["end"]) <= np.datetime64(CUTOFF) for f in first.folds)
    blend = max((t for t in first.trials if t.stage == "blend"), key=lambda t: t.score)
    assert (first.best.ease_weight, first.best.knn_weight) == (
        blend.params["ease_weight"],
        blend.params["knn_weight"],
    )
    assert json.loads(json.dumps(first.to_dict()))["best"] == first.best.to_dict()


def test_tuning_ignores_everything_after_the_cutoff() -> None:
    with_future = run_tune(1)
    without = tune(
        LINES.before(np.datetime64(CUTOFF)),
        CUTOFF,
        space=SPACE,
        budget=3,
        seed=1,
        window_days=45,
        n_folds=2,
        start=FAST,
    )
    assert [t.fold_scores for t in with_future.trials] == [t.fold_scores for t in without.trials]
    assert with_future.best == without.best
