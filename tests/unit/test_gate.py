"""The training gate against the baselines of its own run: a paired bootstrap interval, not a
point difference (model.train.baseline_reasons)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crossgraph.model.als import ALSParams
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
