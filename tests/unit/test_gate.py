"""The training gate against the baselines of its own run and against the current model: a
paired bootstrap interval, not a point difference (model.train.baseline_reasons,
current_model_reason)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from crossgraph.data.demo import generate_demo
from crossgraph.data.orderlines import OrderLines
from crossgraph.data.purchase_file import read_purchase_file
from crossgraph.data.weighting import WeightingConfig
from crossgraph.model.als import ALSParams
from crossgraph.model.baselines import EASEParams
from crossgraph.model.evaluate import BASELINE, SERVED, EvaluationReport, ModelResult
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.registry import Registry
from crossgraph.model.train import baseline_reasons, train
from tests.unit.lines_factory import block_lines

LINES = block_lines(n_accounts=60, n_blocks=4, block_size=5, seed=2)
# ALS with one factor and one sweep, nothing blended in: cannot tell the blocks apart.
CRIPPLED = HybridParams(als=ALSParams(factors=1, iterations=1), ease_weight=0.0, knn_weight=0.0)


def report_of(served: np.ndarray, **baselines: np.ndarray) -> EvaluationReport:
    def result(name: str, role: str, scores: np.ndarray) -> ModelResult:
        return ModelResult(name, role, {"ndcg@10": float(scores.mean())}, 0.0, 0.0, per_account=scores)

    results = [result("hybrid", SERVED, served)]
    results += [result(name, BASELINE, scores) for name, scores in baselines.items()]
    return EvaluationReport("2023-08-01", None, 0, 0, 0, len(served), 0, 0, results, {}, 0.0)


def test_a_candidate_worse_than_a_baseline_beyond_the_noise_is_refused_naming_it() -> None:
    rng = np.random.default_rng(0)
    knn = rng.uniform(0.2, 1.0, 400)
    served = knn - rng.uniform(0.05, 0.15, 400)
    reasons = baseline_reasons(report_of(served, popularity=knn - 0.3, item_knn=knn))
    assert len(reasons) == 1
    assert "below the baseline item_knn" in reasons[0]
    assert "95% interval [-0.1" in reasons[0] and "excludes zero" in reasons[0]


def test_a_point_loss_within_the_noise_is_no_reason_to_refuse() -> None:
    rng = np.random.default_rng(1)
    ease = rng.uniform(0.0, 1.0, 80)
    served = np.clip(ease + rng.normal(-0.005, 0.2, 80), 0, 1)
    report = report_of(served, ease=ease)
    assert report.served.metrics["ndcg@10"] < report.best_baseline().metrics["ndcg@10"]
    assert not report.interval().distinguishable
    assert baseline_reasons(report) == []


def test_train_refuses_a_model_item_knn_beats_and_records_baseline_and_interval(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "models")
    accounts = [{"id": a, "name": a} for a in sorted(set(LINES.account_id))]
    products = [{"sku": s, "name": s} for s in sorted(set(LINES.sku))]
    result = train(LINES, accounts, products, registry, params=CRIPPLED, cutoff=None, test_days=120)
    assert not result.passed
    assert any("below the baseline" in r and "excludes zero" in r for r in result.reasons)
    gate = result.manifest["gate"]
    assert gate["passed"] is False
    assert gate["best_baseline"].startswith(("item_knn", "ease"))
    assert gate["interval"]["baseline"] == gate["best_baseline"]
    assert gate["interval"]["high"] < 0 and gate["interval"]["resamples"] == 2000


def demo_training(tmp_path: Path) -> tuple[OrderLines, list[dict[str, str]], list[dict[str, str]], Registry]:
    """The 300-account demo's purchases and a registry whose current model is EASE alone."""
    generate_demo(tmp_path / "demo", accounts=300, seed=5, as_of=date(2026, 6, 30))
    lines = read_purchase_file(tmp_path / "demo" / "purchases.csv").lines
    accounts = [{"id": a, "name": a} for a in sorted(set(lines.account_id))]
    products = [{"sku": s, "name": s} for s in sorted(set(lines.sku))]
    registry = Registry(tmp_path / "models")
    first = train(lines, accounts, products, registry, params=EASE_ALONE, test_days=180)
    assert first.passed, first.reasons
    registry.promote(first.version)
    return lines, accounts, products, registry


EASE_ALONE = HybridParams(als_weight=0.0, ease=EASEParams(), ease_weight=1.0, knn_weight=0.0)


def test_the_current_model_gate_uses_the_interval_not_a_point_tolerance(tmp_path: Path) -> None:
    lines, accounts, products, registry = demo_training(tmp_path)
    current = registry.current_version()
    # 5 % below the current model on the point (the old 2 % tolerance refused it), but within
    # the noise of the 88 test accounts: promoted, with the interval in the manifest.
    # (ALS pinned to the one that made it 5 % worse, whatever the shipped defaults become.)
    close = HybridParams(
        als=ALSParams(factors=256, regularization=10.0, weighting=WeightingConfig(half_life_days=90.0)),
        als_weight=0.25,
        ease=EASEParams(),
        ease_weight=1.0,
        knn_weight=0.0,
    )
    result = train(lines, accounts, products, registry, params=close, test_days=180)
    assert result.current_score is not None and result.score < 0.97 * result.current_score
    assert result.passed, result.reasons
    recorded = result.manifest["gate"]["current_interval"]
    assert recorded["low"] < 0 < recorded["high"] and recorded["distinguishable"] is False
    assert result.manifest["gate"]["current_version"] == current

    # ALS with one factor and one sweep, nothing blended in: worse than the current model beyond
    # the noise. The reason names the current model, both scores and the interval.
    result = train(lines, accounts, products, registry, params=CRIPPLED, test_days=180)
    assert not result.passed
    reason = next(r for r in result.reasons if "current model" in r)
    assert f"below the current model {current}" in reason and "excludes zero" in reason
    assert result.manifest["gate"]["current_interval"]["high"] < 0
    assert registry.current_version() == current
