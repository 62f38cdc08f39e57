"""What the expected-margin ranking changes on a real graph: the fused list of every account
under the old rule (likelihood x list price x boost) and the new one (docs/ranking.md).

    .venv/bin/python benchmarks/ranking_shift.py               # the promoted model and the graph
    .venv/bin/python benchmarks/ranking_shift.py --limit 8

Needs a loaded graph and a promoted model (`make demo` up to `crossgraph train`), reached
through the usual CROSSGRAPH_ settings. Prints, per rule: accounts whose top item is of each
kind; accounts holding both a renewal due within `urgency_full_days` and a speculative upgrade
(need at or below need_start), and in how many of them the upgrade ranks above the renewal;
and the seconds per account list.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from crossgraph.api.app import intel_config
from crossgraph.graph.driver import Graph
from crossgraph.model.artifact import Artifact
from crossgraph.model.registry import Registry
from crossgraph.recommend.actions import KINDS, FusionConfig
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.nba import Intel, ListOptions, recommendation_list
from crossgraph.recommend.ranking import MARGIN_RATES
from crossgraph.settings import get_settings


def list_price_rule(fusion: FusionConfig) -> FusionConfig:
    """The rule before: every margin rate 1, no need factor, no urgency discount, no calibration."""
    return FusionConfig(
        likelihood=fusion.likelihood,
        margin_rates=dict.fromkeys(MARGIN_RATES, 1.0),
        default_margin=1.0,
        need_floor=1.0,
        urgency_full_days=1_000_000,
        event_boost=fusion.event_boost,
        event_days=fusion.event_days,
    )


def summary(lists: list[list[dict[str, Any]]], config: FusionConfig) -> dict[str, Any]:
    top = Counter(items[0]["kind"] for items in lists if items)
    both = above = 0
    for items in lists:
        due = [
            i["rank"]
            for i in items
            if i["kind"] == "renewal" and (i["due_in_days"] or 0) <= config.urgency_full_days
        ]
        speculative = [
            i["rank"]
            for i in items
            if i["signal"] == "upgrade_path" and i["need"] is not None and i["need"] <= config.need_start
        ]
        if due and speculative:
            both += 1
            above += min(speculative) < min(due)
    return {"top": top, "both": both, "above": above}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=8, help="items per list (the account plan shows 8)")
    args = parser.parse_args()
    settings = get_settings()
    engine = Engine(Artifact.load(Registry(settings.model_dir).current().path))
    console = Console(width=160)
    table = Table(title=f"Fused lists of {len(engine.account_ids):,} accounts, top {args.limit}")
    for column in (
        "rule",
        "top: cross-sell",
        "top: upsell",
        "top: renewal",
        "near renewal + speculative upgrade",
        "upgrade above renewal",
        "ms / list",
    ):
        table.add_column(column, justify="right" if column != "rule" else "left")
    with Graph.connect(settings) as g:
        new = intel_config(settings, g)
        rules = {
            "list price (before)": Intel(new.signals, list_price_rule(new.fusion)),
            "expected margin (now)": new,
        }
        for name, intel in rules.items():
            started = time.perf_counter()
            lists = [
                recommendation_list(
                    engine,
                    lambda call: call(g),
                    account,
                    ListOptions(limit=args.limit, kinds=KINDS, drivers=0),
                    intel,
                )["items"]
                for account in engine.account_ids
            ]
            ms = (time.perf_counter() - started) * 1000 / max(1, len(lists))
            found = summary(lists, new.fusion)
            top = found["top"]
            table.add_row(
                name,
                f"{top['cross_sell']:,}",
                f"{top['upsell']:,}",
                f"{top['renewal']:,}",
                f"{found['both']:,}",
                f"{found['above']:,}",
                f"{ms:.1f}",
            )
    console.print(table)


if __name__ == "__main__":
    main()
