"""The evaluation report and the tuner, end to end on a small synthetic history."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from crossgraph.data.matrix import Interactions
from crossgraph.data.split import validation_folds
from crossgraph.data.weighting import WeightingConfig
from crossgraph.errors import InvalidInput
from crossgraph.model import tuning
from crossgraph.model.als import ALSParams
from crossgraph.model.baselines import EASEParams, ItemKNNRecommender
from crossgraph.model.dense import DenseLimit
from crossgraph.model.evaluate import (
    EvaluationConfig,
    evaluate_models,
    evaluate_recommender,
    plot_report,
    render_table,
)
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.tuning import SearchSpace, tune, tuned_config
from tests.unit.lines_factory import block_lines, lines_of

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
    metrics = {
        f"{metric}@{k}"
        for metric in ("precision", "recall", "ndcg", "map", "hit_rate", "coverage", "top1_share")
        for k in (5, 10)
    }
    assert all(set(model["metrics"]) == metrics for model in data["models"])
    assert data["split"]["test_accounts"] > 0 and data["split"]["test_pairs"] > 0
    assert data["served_params"] == FAST.to_dict()


def test_collaborative_models_beat_popularity_on_block_structured_buying(report) -> None:  # type: ignore[no-untyped-def]
    by_name = {r.name: r.metrics["ndcg@10"] for r in report.results}
    assert by_name["hybrid"] > by_name["popularity"] + 0.1
    assert by_name["ease"] > by_name["popularity"] + 0.1
    assert report.best_baseline().name in {"ease", "item_knn_bm25"}
    assert report.lift() == pytest.approx(by_name["hybrid"] / report.best_baseline().metrics["ndcg@10"] - 1)


def test_the_popularity_row_has_the_hand_computed_metrics() -> None:
    """Four accounts before the cutoff own P0 / P0 P1 / P0 P1 P2 / P0..P3, so popularity ranks
    P0 > P1 > P2 > P3 and offers A0 [P1 P2 P3], A1 [P2 P3], A2 [P3]. After the cutoff A0 buys
    P2 (rank 2), A1 buys P3 (rank 2) and P0 again (owned: not a test pair), A2 buys P3 (rank 1).

        @1: one hit in three lists -> precision, recall, NDCG, MAP, hit rate 1/3
        @3: every list hits -> recall 1, hit rate 1, precision 1/3 (one hit per 3 slots),
            NDCG (1/log2(3) + 1/log2(3) + 1) / 3, MAP (1/2 + 1/2 + 1) / 3
        coverage: P1, P2, P3 shown of 4 products -> 3/4 at both k"""
    owned = {"A0": ["P0"], "A1": ["P0", "P1"], "A2": ["P0", "P1", "P2"], "A3": ["P0", "P1", "P2", "P3"]}
    rows = [(f"O-{a}-{s}", a, s, "2023-03-01") for a, skus in owned.items() for s in skus]
    rows += [
        ("N0", "A0", "P2", "2024-02-01"),
        ("N1", "A1", "P3", "2024-02-01"),
        ("N1", "A1", "P0", "2024-02-01"),
    ]
    rows += [("N2", "A2", "P3", "2024-03-01")]
    tiny = ALSParams(factors=2, regularization=0.1, alpha=1.0, iterations=2)
    config = EvaluationConfig(served=HybridParams(als=tiny), als=tiny, ks=(1, 3))
    report = evaluate_models(lines_of(rows), "2024-01-01", config=config)
    assert (report.test_accounts, report.test_pairs) == (3, 3)
    popularity = next(r for r in report.results if r.name == "popularity").metrics
    third = pytest.approx(1 / 3)
    assert popularity == {
        "precision@1": third,
        "recall@1": third,
        "ndcg@1": third,
        "map@1": third,
        "hit_rate@1": third,
        "coverage@1": 0.75,
        "top1_share@1": 0.0,  # the top 1 % of 4 products is P0, which everyone owns
        "precision@3": third,
        "recall@3": 1.0,
        "ndcg@3": pytest.approx((2 / math.log2(3) + 1) / 3),
        "map@3": pytest.approx(2 / 3),
        "hit_rate@3": 1.0,
        "coverage@3": 0.75,
        "top1_share@3": 0.0,
    }


def test_table_and_plot_render(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = render_table(report)
    assert table.row_count == len(report.results)
    assert len(table.columns) == 2 + 2 * 5 + 3  # + coverage, top-1 % share, fit seconds
    # The chart is wider by 1.6 inches (at 120 dpi) for each metric it groups the bars by.
    four = plt.imread(plot_report(report, tmp_path / "models.png"))
    one = plt.imread(plot_report(report, tmp_path / "ndcg.png", metrics=("ndcg@10",)))
    assert four.shape[:2] == (540, round((4.5 + 1.6 * 4) * 120))
    assert one.shape[:2] == (540, round((4.5 + 1.6) * 120))


SPACE = SearchSpace(
    factors=(4, 8),
    regularization=(0.1, 1.0),
    alpha=(5.0,),
    iterations=(5,),
    weighting=(WeightingConfig(scheme="binary"),),
    ease_regularization=(5.0, 50.0),
    knn_neighbours=(20,),
    knn_shrinkage=(None, 10.0),
    popularity_days=(None, 30.0),
    rp3_alpha=(1.0,),
    rp3_beta=(0.0, 0.5),
    ease_user_exponent=(0.0,),  # the blend's EASE variants: off unless a test asks
    ease_popularity_exponent=(0.0,),
    blend_step=0.5,
)


def run_tune(seed: int, lines=LINES, **kwargs):  # type: ignore[no-untyped-def]
    return tune(
        lines,
        CUTOFF,
        seed=seed,
        window_days=45,
        n_folds=2,
        stride_days=20,
        **{"space": SPACE, "start": FAST, "minutes": 30, **kwargs},
    )


def test_tuning_is_deterministic_and_reads_only_the_training_period() -> None:
    first, second = run_tune(0), run_tune(0)
    assert first.complete
    assert first.best == second.best
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    assert {t.stage for t in first.trials} >= {"popularity", "ease", "knn", "rp3", "als", "blend"}
    assert len([t for t in first.trials if t.stage == "als"]) == 1 + 1 + 4  # start + shipped + grid
    # The start is on the grid (scored once); the untuned lambda 250 and the shipped EASE too.
    assert len([t for t in first.trials if t.stage == "ease"]) == 2 + 2
    assert all(np.datetime64(f["end"]) <= np.datetime64(CUTOFF) for f in first.folds)
    assert json.loads(json.dumps(first.to_dict()))["best"] == first.best.to_dict()


def test_tuning_ignores_everything_after_the_cutoff() -> None:
    with_future = run_tune(1)
    without = run_tune(1, lines=LINES.before(np.datetime64(CUTOFF)))
    assert [t.fold_scores for t in with_future.trials] == [t.fold_scores for t in without.trials]
    assert with_future.best == without.best


def test_baselines_get_the_same_search_and_the_evaluation_compares_with_the_tuned_ones() -> None:
    result = run_tune(0)
    finalists = [t for t in result.trials if t.stage == "ease" and len(t.fold_scores) == 2]
    ease = max(finalists, key=lambda t: t.score)
    assert result.baselines.ease.regularization == ease.params["regularization"]
    config = tuned_config(result)
    assert (config.ease, config.knn) == (result.baselines.ease, result.baselines.knn)
    assert config.popularity_days == result.baselines.popularity_days
    assert config.served == result.best


def test_the_tuner_searches_the_blends_ease_variants_and_keeps_the_ease_baseline_plain() -> None:
    """The variant stage tries DAN's exponents and EDLAE's dropouts at the tuned EASE lambda
    (plain EASE among them, its scores reused); the blend's EASE is its winner, the EASE
    baseline stays plain EASE, even when the start is a variant."""
    start = replace(FAST, ease=EASEParams(regularization=5.0, dropout=0.25, user_exponent=0.5))
    space = replace(
        SPACE, ease_dropout=(0.25,), ease_user_exponent=(0.0, 0.5), ease_popularity_exponent=(0.0, 0.2)
    )
    result = run_tune(0, start=start, space=space)
    ease = [t for t in result.trials if t.stage == "ease"]
    variants = [t for t in result.trials if t.stage == "ease_variant"]
    assert all("dropout" not in t.params and "user_exponent" not in t.params for t in ease)
    assert result.baselines.ease == tuning.plain(result.baselines.ease)
    lam = result.baselines.ease.regularization
    tried = {
        (
            t.params["regularization"],
            t.params["dropout"],
            t.params["user_exponent"],
            t.params["popularity_exponent"],
        )
        for t in variants
    }
    assert tried == {
        (lam, 0.25, 0.5, 0.0),  # the start's variant at the tuned lambda
        (lam, 0.0, 0.0, 0.0),
        (lam, 0.0, 0.0, 0.2),
        (lam, 0.0, 0.5, 0.0),
        (lam, 0.0, 0.5, 0.2),
        (lam, 0.25, 0.0, 0.0),
    }
    deepest = max(len(t.fold_scores) for t in variants)
    winner = max((t for t in variants if len(t.fold_scores) == deepest), key=lambda t: t.score)
    assert result.best.ease == replace(
        result.baselines.ease,
        dropout=winner.params["dropout"],
        user_exponent=winner.params["user_exponent"],
        popularity_exponent=winner.params["popularity_exponent"],
    )
    plain = next(
        t
        for t in variants
        if (t.params["dropout"], t.params["user_exponent"], t.params["popularity_exponent"]) == (0, 0, 0)
    )
    baseline = next(t for t in ease if t.params["regularization"] == lam)
    assert plain.fold_scores == baseline.fold_scores[: len(plain.fold_scores)]  # the same fits, not refitted
    assert tuned_config(result).ease == result.baselines.ease  # the evaluation's EASE row: plain EASE
    # By default DAN's grid is searched and EDLAE is not (tried, not adopted).
    defaults = SearchSpace()
    assert defaults.ease_dropout == () and {0.25, 0.5} <= set(defaults.ease_user_exponent)
    dan = replace(
        SPACE,
        ease_user_exponent=defaults.ease_user_exponent,
        ease_popularity_exponent=defaults.ease_popularity_exponent,
    )
    searched = [t for t in run_tune(0, space=dan).trials if t.stage == "ease_variant"]
    assert {(t.params["user_exponent"], t.params["popularity_exponent"]) for t in searched} == {
        (b, g) for b in defaults.ease_user_exponent for g in defaults.ease_popularity_exponent
    }
    assert all(t.params["dropout"] == 0.0 for t in searched)
    # Without a variant to try there is no stage.
    assert "ease_variant" not in {t.stage for t in run_tune(0).trials}


def test_above_the_dense_threshold_the_tuner_caps_ease_and_the_evaluation_says_so() -> None:
    """20 products > 10: EASE candidates are fitted on the 10 best-selling products of each
    window, the tuner blends their masked z-scores and says so, and the evaluation of the
    result meets the capped EASE baseline by its name."""
    dense = DenseLimit(max_products=10)
    result = run_tune(0, dense=dense)
    reason = "fitted on the 10 best-selling of 20 products (CROSSGRAPH_DENSE_MAX_PRODUCTS)"
    assert result.left_out == {} and result.capped == {"ease": reason}
    assert result.to_dict()["capped"] == {"ease": reason}
    stages = {t.stage for t in result.trials}
    assert {"ease", "popularity", "knn", "rp3", "als", "blend"} <= stages
    assert all(np.isfinite(t.score) for t in result.trials)
    config = replace(tuned_config(result), dense=dense)
    report = evaluate_models(LINES, CUTOFF, segments=SEGMENTS, config=config)
    names = {r.name for r in report.results}
    assert "ease (top 10 products)" in names and "ease" not in names
    assert report.left_out == {} and report.capped["ease (top 10 products)"] == reason
    if result.best.ease_weight > 0:
        assert report.capped["served: ease"] == reason
    assert "capped: ease (top 10 products) (fitted on the 10 best-selling" in str(
        render_table(report).caption
    )


def test_above_the_dense_threshold_the_tuner_leaves_ease_out_when_asked_and_the_evaluation_says_so() -> None:
    """20 products > 10, CROSSGRAPH_DENSE_EASE=leave-out: no EASE candidate is fitted, EASE is
    neither in the blend nor the best baseline, RP3beta is still searched (sparse blocks), and
    the evaluation of the result runs every other baseline and names the EASE rows it left out."""
    dense = DenseLimit(max_products=10, ease="leave-out")
    result = run_tune(0, dense=dense)
    reason = "20 products > 10 (CROSSGRAPH_DENSE_MAX_PRODUCTS)"
    assert result.left_out == {"ease": reason} and result.to_dict()["left_out"] == {"ease": reason}
    stages = {t.stage for t in result.trials}
    assert "ease" not in stages and {"popularity", "knn", "rp3", "als", "blend"} <= stages
    assert result.best.ease_weight == 0.0 and result.guard["best_baseline"] in {"popularity", "knn"}
    config = replace(tuned_config(result), dense=dense)
    report = evaluate_models(LINES, CUTOFF, segments=SEGMENTS, config=config)
    assert "ease" not in {r.name for r in report.results}
    assert report.left_out == {"ease": reason}
    assert report.best_baseline().name in {"popularity", "segment_popularity", "item_knn_bm25"}
    assert "left out: ease (20 products > 10" in str(render_table(report).caption)


def test_the_tuner_scores_no_recency_decay_for_any_component_unless_asked() -> None:
    """Validation windows overrate a half-life (docs/tuning.md), so a tune scores each
    candidate's no-decay twin: the served model's components and the baselines alike."""
    decayed = WeightingConfig(scheme="binary", half_life_days=30.0)
    start = replace(
        FAST,
        als=replace(FAST_ALS, weighting=WeightingConfig(scheme="log", half_life_days=90.0)),
        ease=EASEParams(regularization=5.0, weighting=decayed),
    )
    space = replace(SPACE, weighting=(WeightingConfig(scheme="binary"), decayed))
    plain = run_tune(0, start=start, space=space)
    for t in plain.trials:
        assert t.params.get("half_life_days") is None, t
    assert plain.best.als.weighting.half_life_days is None
    assert plain.baselines.ease.weighting.half_life_days is None
    assert plain.baselines.ease == EASEParams(regularization=plain.baselines.ease.regularization)
    asked = run_tune(0, start=start, space=space, decay=True)
    assert any(t.params.get("half_life_days") for t in asked.trials if t.stage in ("als", "ease"))


class Ticking:
    """A clock that moves 100 s each time it is read: every budget runs out at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 100.0
        return self.now


def test_the_time_budget_bounds_every_stage_and_the_start_and_defaults_are_still_scored() -> None:
    result = run_tune(0, clock=Ticking())
    assert not result.complete
    # The start and the untuned defaults (FAST's item-kNN and RP3beta are the defaults), newest
    # window only; nothing of the grid.
    expected = {"popularity": 1, "ease": 3, "knn": 1, "rp3": 1, "als": 2}
    for stage, count in expected.items():
        scored = [t for t in result.trials if t.stage == stage]
        assert len(scored) == count and all(len(t.fold_scores) == 1 for t in scored), stage
    ease = {t.params["regularization"] for t in result.trials if t.stage == "ease"}
    assert ease == {FAST.ease.regularization, EASEParams().regularization, HybridParams().ease.regularization}
    assert "search cut short" in result.render_table().title


def test_time_a_stage_leaves_unused_goes_back_to_a_stage_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """EASE fits cost 5 s of a 60 s budget (a fake clock), every other fit nothing: EASE's share
    (about 10 s) stops it after the start and the defaults, the later stages finish at once, and
    their time goes back to EASE, which then scores its whole grid and its survivors' second
    window, keeping the blend's share."""
    clock = Stopped()

    class SlowEASE(tuning.EASERecommender):
        def _fit(self, interactions: Interactions) -> None:
            clock.now += 5.0
            super()._fit(interactions)

    monkeypatch.setattr(tuning, "EASERecommender", SlowEASE)
    result = run_tune(0, clock=clock, minutes=1)
    ease = {t.params["regularization"]: len(t.fold_scores) for t in result.trials if t.stage == "ease"}
    assert set(ease) == {5.0, 50.0, 100.0, 250.0}  # start, grid, shipped and untuned defaults
    assert max(ease.values()) == 2 and result.complete
    assert result.seconds <= 60.0


@pytest.mark.parametrize("whole_grid", [True, False])
def test_with_a_tight_budget_the_ease_baseline_is_still_the_best_mean_of_its_whole_grid(
    monkeypatch: pytest.MonkeyPatch, whole_grid: bool
) -> None:
    """EASE fits cost 2 s and ALS fits 10 s of a 60 s budget (a fake clock). EASE's grid (5
    candidates x 2 windows, 20 s) does not fit its 17 % share (about 10 s) and ALS leaves no time
    to resume it. The EASE stage scores its whole grid on every window anyway (it may take up
    to half the time left), and the EASE baseline is the lambda with the best mean over the
    windows; the later stages get less and the whole search still ends within the budget.
    Halving in the EASE stage's share (the scheduler before) leaves lambdas unscored."""
    clock = Stopped()

    class SlowEASE(tuning.EASERecommender):
        def _fit(self, interactions: Interactions) -> None:
            clock.now += 2.0
            super()._fit(interactions)

    class SlowALS(tuning.ALSRecommender):
        def _fit(self, interactions: Interactions) -> None:
            clock.now += 10.0
            super()._fit(interactions)

    monkeypatch.setattr(tuning, "EASERecommender", SlowEASE)
    monkeypatch.setattr(tuning, "ALSRecommender", SlowALS)
    if not whole_grid:
        monkeypatch.setattr(tuning, "WHOLE_GRID", ())
        monkeypatch.setattr(tuning, "RUNS_PAST_SHARE", ())
    space = replace(SPACE, ease_regularization=(0.5, 5.0, 50.0, 500.0))
    result = run_tune(0, clock=clock, minutes=1, space=space)
    ease = [t for t in result.trials if t.stage == "ease"]
    grid = {0.5, 5.0, 50.0, 500.0, 100.0, 250.0}  # the log grid, the shipped and the untuned lambdas
    if not whole_grid:
        assert not {t.params["regularization"] for t in ease if len(t.fold_scores) == 2} >= grid
        return
    assert {t.params["regularization"] for t in ease} == grid
    assert all(len(t.fold_scores) == 2 for t in ease)
    best = max(ease, key=lambda t: np.mean(t.fold_scores))
    assert result.baselines.ease.regularization == best.params["regularization"]
    assert result.seconds <= 60.0 + 10.0  # at most one fit beyond the budget


@pytest.mark.parametrize("whole_grid", [True, False])
def test_a_slow_first_fit_does_not_cut_the_popularity_baseline_short(
    monkeypatch: pytest.MonkeyPatch, whole_grid: bool
) -> None:
    """The first popularity fit of a run costs 1.5 s of a 60 s budget (a fake clock: a run's
    one-off costs), every later one nothing. Halved within its 3 % share (1.8 s), the stage
    stops early, estimating every other fit at 1.5 s; scored window by window in the same share,
    every candidate is scored on every window and the popularity baseline is the best mean."""
    clock = Stopped()
    fits = []

    class FirstSlow(tuning.PopularityRecommender):
        def _fit(self, interactions: Interactions) -> None:
            clock.now += 1.5 if not fits else 0.0
            fits.append(1)
            super()._fit(interactions)

    monkeypatch.setattr(tuning, "PopularityRecommender", FirstSlow)
    if not whole_grid:
        monkeypatch.setattr(tuning, "WHOLE_GRID", ("ease",))
    space = replace(SPACE, popularity_days=(None, 30.0, 90.0, 365.0))
    result = run_tune(0, clock=clock, minutes=1, space=space)
    popularity = [t for t in result.trials if t.stage == "popularity"]
    if not whole_grid:  # the scheduler before
        assert len(popularity) < 4 or not all(len(t.fold_scores) == 2 for t in popularity)
        return
    assert {t.params["window_days"] for t in popularity} == {None, 30.0, 90.0, 365.0}
    assert all(len(t.fold_scores) == 2 for t in popularity)
    best = max(popularity, key=lambda t: np.mean(t.fold_scores))
    assert result.baselines.popularity_days == best.params["window_days"]


@pytest.mark.parametrize("finalists", [0, 2])
def test_with_finalists_a_slow_als_stage_still_judges_its_winner_and_the_blend_on_every_window(
    monkeypatch: pytest.MonkeyPatch, finalists: int
) -> None:
    """ALS fits cost 10 s of a 60 s budget (a fake clock), every other fit nothing: ALS's share
    does not cover its six candidates. Without finalists the stage spends it on the newest
    window and the blend is chosen on that window alone; with two, it stops the first rung
    early and its best two, and so the blend, are scored on both windows."""
    clock = Stopped()

    class SlowALS(tuning.ALSRecommender):
        def _fit(self, interactions: Interactions) -> None:
            clock.now += 10.0
            super()._fit(interactions)

    monkeypatch.setattr(tuning, "ALSRecommender", SlowALS)
    result = run_tune(0, clock=clock, minutes=1, finalists=finalists)
    als = [t for t in result.trials if t.stage == "als"]
    blend = [t for t in result.trials if t.stage == "blend"]
    winner = max(als, key=lambda t: (len(t.fold_scores), t.score))
    assert not result.complete
    if finalists:
        assert len(als) < 6 and sum(len(t.fold_scores) == 2 for t in als) == 2
        assert len(winner.fold_scores) == 2 and all(len(t.fold_scores) == 2 for t in blend)
    else:
        assert all(len(t.fold_scores) == 1 for t in als)
        assert all(len(t.fold_scores) == 1 for t in blend)


class Stopped:
    """A clock that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_when_item_knn_beats_every_blend_the_tuner_raises_its_weight_until_it_does_not() -> None:
    """With ALS held to one factor (it cannot separate the four blocks), tuned item-kNN scores
    above every blend on the simplex (ALS >= 1/2); the tuner must not serve the weaker blend:
    the result scores at least item-kNN on each window."""
    weak = ALSParams(factors=1, regularization=100.0, alpha=1.0, iterations=2)
    space = replace(SPACE, factors=(1,), regularization=(100.0,), iterations=(2,))
    result = tune(
        LINES,
        CUTOFF,
        space=space,
        minutes=30,
        window_days=45,
        n_folds=2,
        stride_days=20,
        start=replace(FAST, als=weak),
    )
    guard = result.guard
    assert guard["best_baseline"] == "knn" and guard["raised"] == "knn" and guard["met"]
    assert result.best.knn_weight > 0.9
    blend = max((t for t in result.trials if t.stage == "blend"), key=lambda t: t.score)
    assert blend.score < guard["best_baseline_score"] <= guard["blend_score"]
    folds = validation_folds(LINES, CUTOFF, 45, 2, stride_days=20)
    for fold in folds:
        served, _ = evaluate_recommender(HybridRecommender(result.best).fit(fold.train), fold, ks=(10,))
        knn, _ = evaluate_recommender(
            ItemKNNRecommender(result.baselines.knn).fit(fold.train), fold, ks=(10,)
        )
        assert served["ndcg@10"] >= knn["ndcg@10"]


def test_the_coverage_guard_refuses_blends_that_narrow_the_catalogue() -> None:
    result = run_tune(0, max_coverage_loss=0.0)
    assert result.guard["blend_coverage"] >= result.guard["min_coverage"] or result.guard["raised"]
    with pytest.raises(InvalidInput, match="max_coverage_loss"):
        run_tune(0, max_coverage_loss=1.5)
