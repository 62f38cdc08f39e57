"""The fused list's order on a hand-made graph where the right order is known
(tests/fixtures/ranking/README.md): a renewal due in 28 days against a speculative upgrade, and
feedback in the graph moving the likelihoods and the order."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from crossgraph.graph.driver import Graph
from crossgraph.graph.export import export_products
from crossgraph.graph.feedback import Feedback, outcome_counts, record_feedback
from crossgraph.graph.ingest import load_directory
from crossgraph.intel.signals import account_signals
from crossgraph.recommend.actions import FusionConfig, calibrated, fuse
from crossgraph.recommend.ranking import OUTCOMES
from tests.conftest import FIXTURES

pytestmark = pytest.mark.neo4j

AS_OF = date(2026, 6, 30)


@pytest.fixture
def ranking(graph: Graph) -> Graph:
    load_directory(graph, FIXTURES / "ranking")
    return graph


def fused(graph: Graph, account: str, config: FusionConfig = FusionConfig()) -> list[dict[str, Any]]:
    products = {str(p["sku"]): p for p in export_products(graph)}
    signals = account_signals(graph, account, as_of=AS_OF)
    return fuse(
        [], signals, [], products=products, kinds=("upsell", "renewal"), as_of=AS_OF, limit=10, config=config
    )


def test_a_renewal_due_in_28_days_beats_the_upgrade_of_a_healthy_machine(ranking: Graph) -> None:
    items = fused(ranking, "R1")
    assert [(i["kind"], i["sku"]) for i in items] == [("renewal", "SV-P"), ("upsell", "IM400P")]
    renewal, upgrade = items
    assert renewal["due_in_days"] == 28 and renewal["urgency"] == 1.0
    assert renewal["expected_value"] == pytest.approx(0.8 * 20_000 * 0.60)  # service margin 60 %
    assert "due in 28 days" in renewal["ranking"]
    # 5 of 10 years, 52 % of an 85 % threshold: need 0.61, barely above need_start 0.6 -> the floor
    assert upgrade["need"] == pytest.approx(0.52 / 0.85, abs=1e-4)
    assert upgrade["facts"]["assets"][0] == {
        "serial": "SN-1",
        "sku": "IM400",
        "age_years": 5,
        "replacement_years": 10,
        "utilization": 0.52,
        "need": pytest.approx(0.6118, abs=1e-4),
    }
    assert upgrade["likelihood"] == pytest.approx(0.25 * 0.1)
    assert upgrade["value"] == 500_000 and upgrade["margin_rate"] == 0.22  # the product's own margin
    assert upgrade["expected_value"] < renewal["expected_value"]


def feedback(graph: Graph, n: int, account: str, sku: str, action: str, kind: str, signal: str) -> None:
    record_feedback(
        graph,
        Feedback(
            id=f"F-{n}",
            account_id=account,
            sku=sku,
            action=action,  # type: ignore[arg-type]
            user="rep",
            at=datetime(2026, 6, 1, 9, n, tzinfo=UTC),
            kind=kind,
            signal=signal,
        ),
    )


def test_lost_upgrades_and_won_renewals_move_the_likelihoods_and_the_order(ranking: Graph) -> None:
    config = FusionConfig(prior_strength=4)  # a light prior, so that a handful of decisions tell
    before = fused(ranking, "R2", calibrated(config, outcome_counts(ranking, OUTCOMES)))
    assert [i["sku"] for i in before] == ["IM400P", "SV-P"]  # 9 years at 80 %: the upgrade is due
    assert before[0]["likelihood_basis"].startswith("prior 0.25, no decisions yet")

    accounts = [f"R{i}" for i in range(3, 11)]
    for n, account in enumerate(accounts):
        feedback(ranking, n, account, "IM400P", "lost", "upsell", "upgrade_path")
    feedback(ranking, 20, "R3", "IM400P", "dismissed", "upsell", "upgrade_path")  # same pair: once
    feedback(ranking, 21, "R4", "IM400P", "accepted", "upsell", "upgrade_path")  # not a decision
    for n, account in enumerate(accounts[:4], start=30):
        feedback(ranking, n, account, "SV-P", "won", "renewal", "renewal")

    now = calibrated(config, outcome_counts(ranking, OUTCOMES))
    upgrade, renewal = now.calibration["upgrade_path"], now.calibration["renewal"]
    assert (upgrade.won, upgrade.failed) == (0, 8)
    assert upgrade.mean == pytest.approx(1 / 12)  # (0.25 x 4 + 0) / (4 + 8)
    assert (renewal.won, renewal.failed) == (4, 0) and renewal.mean == pytest.approx(0.9)

    after = fused(ranking, "R2", now)
    assert [i["sku"] for i in after] == ["SV-P", "IM400P"]
    assert after[1]["likelihood_basis"].startswith("0.08 from 8 decisions (0 won; prior 0.25)")
    assert after[0]["likelihood"] == pytest.approx(0.9)
