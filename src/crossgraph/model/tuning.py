"""Hyperparameter search for the served model, on validation folds inside the training period.

Three stages, each scored by the mean of `metric` over rolling validation folds
(`data.split.validation_folds`); nothing on or after `cutoff` is read:

1. ALS: `budget` random draws (seeded, without repeats) from factors x regularization x
   alpha x iterations x weighting, plus the starting parameters as trial 0;
2. EASE partner: the grid regularization x half-life of its Gram weighting;
3. blend: with ALS weight 1, a grid over the EASE and item-kNN weights, on cached
   standardised scores (cheap: no refit).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from crossgraph.data.orderlines import OrderLines
from crossgraph.data.split import TimeSplit, validation_folds
from crossgraph.data.weighting import WeightingConfig
from crossgraph.errors import InvalidInput
from crossgraph.model.als import ALSParams, ALSRecommender
from crossgraph.model.base import Recommender, top_k
from crossgraph.model.baselines import EASEParams, EASERecommender
from crossgraph.model.evaluate import evaluate_recommender
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.metrics import ranking_metrics


def _default_weightings() -> tuple[WeightingConfig, ...]:
    return (
        WeightingConfig(scheme="binary"),
        WeightingConfig(scheme="log"),
        WeightingConfig(scheme="log", half_life_days=45.0),
        WeightingConfig(scheme="log", half_life_days=90.0),
        WeightingConfig(scheme="log", half_life_days=180.0),
        WeightingConfig(scheme="bm25", bm25_k1=1.2, bm25_b=0.75),
    )


@dataclass(frozen=True)
class SearchSpace:
    factors: tuple[int, ...] = (64, 128, 256)
    regularization: tuple[float, ...] = (0.1, 1.0, 3.0, 10.0, 30.0)
    alpha: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0)
    iterations: tuple[int, ...] = (10, 15, 25)
    weighting: tuple[WeightingConfig, ...] = field(default_factory=_default_weightings)
    ease_regularization: tuple[float, ...] = (100.0, 250.0, 500.0)
    ease_half_life_days: tuple[float | None, ...] = (None, 30.0, 60.0, 90.0, 180.0)
    blend_weights: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)  # per unit of ALS weight

    def als_candidates(self) -> list[tuple[int, float, float, int, WeightingConfig]]:
        return list(
            itertools.product(self.factors, self.regularization, self.alpha, self.iterations, self.weighting)
        )


@dataclass(frozen=True)
class Trial:
    stage: str  # als | ease | blend
    params: dict[str, Any]
    score: float  # mean of the metric over folds
    fold_scores: list[float]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "params": self.params,
            "score": round(self.score, 5),
            "fold_scores": [round(s, 5) for s in self.fold_scores],
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True)
class TuningResult:
    best: HybridParams
    metric: str
    trials: list[Trial]
    folds: list[dict[str, Any]]
    seed: int
    seconds: float

    def best_score(self, stage: str) -> float:
        return max(t.score for t in self.trials if t.stage == stage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "best": self.best.to_dict(),
            "metric": self.metric,
            "seed": self.seed,
            "folds": self.folds,
            "best_by_stage": {s: round(self.best_score(s), 5) for s in ("als", "ease", "blend")},
            "trials": [t.to_dict() for t in self.trials],
            "seconds": round(self.seconds, 1),
        }

    def render_table(self, top: int = 10) -> Any:
        """The best `top` trials of each stage as a rich Table."""
        from rich.table import Table

        table = Table(title=f"tuning: mean {self.metric} over {len(self.folds)} validation folds")
        table.add_column("stage")
        table.add_column("params")
        table.add_column(self.metric, justify="right")
        table.add_column("per fold", justify="right")
        for stage in ("als", "ease", "blend"):
            ranked = sorted((t for t in self.trials if t.stage == stage), key=lambda t: -t.score)
            for t in ranked[:top]:
                params = ", ".join(f"{k}={v}" for k, v in t.params.items())
                folds = " ".join(f"{s:.4f}" for s in t.fold_scores)
                table.add_row(stage, params, f"{t.score:.4f}", folds)
        return table


def _als_summary(p: ALSParams) -> dict[str, Any]:
    w = p.weighting
    return {
        "factors": p.factors,
        "regularization": p.regularization,
        "alpha": p.alpha,
        "iterations": p.iterations,
        "weighting": w.scheme,
        "half_life_days": w.half_life_days,
    }


def _mean_metric(
    model_factory: Callable[[], Recommender], folds: Sequence[TimeSplit], metric: str
) -> list[float]:
    k = int(metric.split("@")[1])
    scores = []
    for fold in folds:
        model = model_factory().fit(fold.train)
        metrics, _ = evaluate_recommender(model, fold, ks=(k,))
        scores.append(metrics[metric])
    return scores


def tune(
    lines: OrderLines,
    cutoff: datetime | np.datetime64 | str,
    space: SearchSpace | None = None,
    budget: int = 20,
    seed: int = 0,
    window_days: float = 99.0,
    n_folds: int = 3,
    metric: str = "ndcg@10",
    start: HybridParams | None = None,
    seasonal_period_days: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> TuningResult:
    """Search the served model's parameters on folds before `cutoff`; return the best and all trials.

    `seasonal_period_days` is applied to every weighting with a half-life (see
    data.weighting); folds shorter than half the period cannot score it, so it is a
    switch, not a searched dimension.
    """
    if budget < 0:
        raise InvalidInput(f"budget must be >= 0, got {budget}")
    space = space or SearchSpace()
    start = start or HybridParams()
    say = progress or (lambda _: None)
    began = time.perf_counter()
    folds = validation_folds(lines, cutoff, window_days, n_folds)
    fold_info: list[dict[str, Any]] = [
        {
            "cutoff": str(f.cutoff),
            "end": str(f.end),
            "train_accounts": f.train.shape[0],
            "test_accounts": len(f.test_accounts()),
            "test_pairs": f.test.nnz,
        }
        for f in folds
    ]
    say("validation folds: " + "; ".join(f"{f['cutoff'][:10]}..{f['end'][:10]}" for f in fold_info))

    def seasonal(w: WeightingConfig) -> WeightingConfig:
        if seasonal_period_days is None or w.half_life_days is None:
            return w
        return replace(w, seasonal_period_days=seasonal_period_days)

    trials: list[Trial] = []

    # Stage 1: ALS.
    rng = np.random.default_rng(seed)
    candidates = space.als_candidates()
    picks: list[int] = (
        rng.choice(len(candidates), size=min(budget, len(candidates)), replace=False).tolist()
        if budget
        else []
    )
    als_options = [replace(start.als, weighting=seasonal(start.als.weighting))]
    for i in picks:
        f, reg, alpha, iters, w = candidates[int(i)]
        als_options.append(
            ALSParams(
                factors=f,
                regularization=reg,
                alpha=alpha,
                iterations=iters,
                weighting=seasonal(w),
                random_state=start.als.random_state,
            )
        )
    best_als, best_als_score = als_options[0], -1.0
    for n, params in enumerate(als_options):
        t0 = time.perf_counter()
        scores = _mean_metric(lambda p=params: ALSRecommender(p), folds, metric)  # type: ignore[misc]
        trial = Trial("als", _als_summary(params), float(np.mean(scores)), scores, time.perf_counter() - t0)
        trials.append(trial)
        say(f"als {n + 1}/{len(als_options)}: {trial.params} -> {trial.score:.4f}")
        if trial.score > best_als_score:
            best_als, best_als_score = params, trial.score

    # Stage 2: EASE partner.
    best_ease, best_ease_score = start.ease, -1.0
    for reg, half_life in itertools.product(space.ease_regularization, space.ease_half_life_days):
        params_e = EASEParams(
            regularization=reg, weighting=seasonal(WeightingConfig(scheme="binary", half_life_days=half_life))
        )
        t0 = time.perf_counter()
        scores = _mean_metric(lambda p=params_e: EASERecommender(p), folds, metric)  # type: ignore[misc]
        trial = Trial(
            "ease",
            {"regularization": reg, "half_life_days": half_life},
            float(np.mean(scores)),
            scores,
            time.perf_counter() - t0,
        )
        trials.append(trial)
        say(f"ease: {trial.params} -> {trial.score:.4f}")
        if trial.score > best_ease_score:
            best_ease, best_ease_score = params_e, trial.score

    # Stage 3: blend weights on cached standardised scores.
    full = HybridParams(
        als=best_als, ease=best_ease, knn=start.knn, als_weight=1.0, ease_weight=1.0, knn_weight=1.0
    )
    k = int(metric.split("@")[1])
    cached = []
    for fold in folds:
        model = HybridRecommender(full).fit(fold.train)
        accounts = fold.test_accounts()
        stats = model.standardised(accounts)
        z = {name: (raw - mean) / std for name, (raw, mean, std) in stats.items()}
        cached.append((z, model.owned[accounts], fold.test.binary[accounts], fold.train.shape[1]))
    best_blend: tuple[float, float] = (
        start.ease_weight / start.als_weight,
        start.knn_weight / start.als_weight,
    )
    best_blend_score = -1.0
    for ease_w, knn_w in itertools.product(space.blend_weights, space.blend_weights):
        t0 = time.perf_counter()
        scores = []
        for z, owned, relevant, n_items in cached:
            blended = z["als"] + ease_w * z["ease"] + knn_w * z["knn"]
            items, _ = top_k(blended.astype(np.float32), k, owned)
            scores.append(ranking_metrics(items, relevant, ks=(k,), n_items=n_items)[metric])
        trial = Trial(
            "blend",
            {"als_weight": 1.0, "ease_weight": ease_w, "knn_weight": knn_w},
            float(np.mean(scores)),
            scores,
            time.perf_counter() - t0,
        )
        trials.append(trial)
        if trial.score > best_blend_score:
            best_blend, best_blend_score = (ease_w, knn_w), trial.score
    say(f"blend: ease_weight={best_blend[0]}, knn_weight={best_blend[1]} -> {best_blend_score:.4f}")

    best = replace(full, ease_weight=best_blend[0], knn_weight=best_blend[1])
    return TuningResult(
        best=best,
        metric=metric,
        trials=trials,
        folds=fold_info,
        seed=seed,
        seconds=time.perf_counter() - began,
    )
