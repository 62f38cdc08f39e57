"""Does a learned re-ranker over the blend's candidates beat the best tuned baseline? (prototype)

    nice .venv/bin/python benchmarks/rerank.py /work/shared/datasets/online_retail/online_retail.csv.gz \
        --cutoff 2011-09-01 --tune-minutes 3 --json or-rerank.json
    nice .venv/bin/python benchmarks/rerank.py --dataset instacart --tune-minutes 3

Needs the `rerank` extra (LightGBM): `.venv/bin/pip install -e '.[rerank]'`.

1. Stage 1 as benchmarks/quality.py: `model.tuning.tune` within --tune-minutes on the
   validation windows before the cutoff chooses the blend and tunes every baseline.
2. The ranker learns ONLY from before the cutoff: on the tuner's newest validation window
   (`data.split.validation_split`, the same definition: accounts seen before, first purchases,
   products sold before) the tuned components are fitted on the lines before the window, each
   account's candidates are the union of each source's top M (model.rerank: blend, ALS, EASE,
   item-kNN, RP3beta, popularity, M = 50), labelled by the window's purchases. A seeded 20 %
   of the window's accounts is held out: LightGBM early-stops on it, and the reranker, the
   blend and EASE are scored on it (NDCG@10 over all the account's new purchases).
3. Test: every component refitted on all lines before the cutoff (as quality.py), candidates
   and features made the same way, reranked, and scored with the project's evaluation against
   the served blend and the tuned baselines (model.evaluate), with paired bootstrap intervals
   (model.bootstrap: 2,000 resamples of the test accounts, seed 0).

Printed: the held-out validation table and the test table (NDCG@10, recall@10, coverage@10,
top-1 % share, reranked minus model with its 95 % interval), then the reranked model against
the best tuned baseline and the minutes spent. --json writes it all, with the ranker's
feature importances and the load average.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from datasets import DATASETS, DEFAULT_CACHE, prepare

from crossgraph.data.matrix import Interactions
from crossgraph.data.orderlines import OrderLines
from crossgraph.data.purchase_file import read_purchase_file, read_segments
from crossgraph.data.split import TimeSplit, validation_split
from crossgraph.errors import InvalidInput
from crossgraph.model.base import Recommender
from crossgraph.model.baselines import (
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    SegmentPopularityRecommender,
)
from crossgraph.model.bootstrap import Interval, paired_bootstrap
from crossgraph.model.dense import DenseLimit
from crossgraph.model.evaluate import BASELINE, SERVED, EvaluationConfig, evaluate_split, evaluation_split
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.metrics import per_account_ndcg, ranking_metrics
from crossgraph.model.rerank import (
    CANDIDATES_PER_SOURCE,
    FeatureTable,
    RankerParams,
    build_features,
    fit_ranker,
    personal_features,
    relative_features,
    rerank,
)
from crossgraph.model.rp3beta import RP3betaRecommender
from crossgraph.model.train import default_cutoff
from crossgraph.model.tuning import FINALISTS, tune, tuned_config
from crossgraph.params import DEFAULT_PARAMS, read_params
from crossgraph.settings import get_settings

HELD_OUT = 0.2  # share of the validation window's accounts the ranker never trains on
SEED = 0
MIN_TIME_CHECK_ACCOUNTS = 200  # the check across time needs a window before with this many accounts
RERANKED = "reranked"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fit_sources(
    train: Interactions,
    served: HybridRecommender,
    popularity_days: float | None,
    segments: Mapping[str, str | None] | None,
    dense: DenseLimit,
) -> dict[str, Recommender]:
    """The ranker's score sources, fitted on `train`: the served blend (fitted already) and each
    tuned component - the blend's own when it is weighted, else fitted here - and popularity."""
    p = served.params
    sources: dict[str, Recommender] = {"blend": served, "als": served.als}
    if dense.allows(train.shape[1]):
        sources["ease"] = served.ease or EASERecommender(p.ease, dense=dense).fit(train)
    sources["knn"] = served.knn or ItemKNNRecommender(p.knn, dense=dense).fit(train)
    sources["rp3"] = served.rp3 or RP3betaRecommender(p.rp3, dense=dense).fit(train)
    if served.seq is not None:
        sources["seq"] = served.seq
    sources["popularity"] = PopularityRecommender(popularity_days).fit(train)
    if segments:
        sources["segment"] = SegmentPopularityRecommender(segments).fit(train)
    return sources


def candidate_sources(sources: Mapping[str, Recommender]) -> list[str]:
    """Every source but segment popularity proposes candidates (it is a feature: segment match)."""
    return [name for name in sources if name != "segment"]


def scored(
    items: npt.NDArray[np.intp], relevant: Any, n_items: int, popularity: npt.NDArray[np.intp]
) -> tuple[dict[str, float], npt.NDArray[np.float64]]:
    metrics = ranking_metrics(items, relevant, ks=(5, 10), n_items=n_items, popularity=popularity)
    return metrics, per_account_ndcg(items, relevant, k=10)


def candidate_recall(table: FeatureTable, relevant: Any) -> float:
    """Share of the accounts' new purchases that are among their candidates (the ceiling)."""
    assert table.labels is not None
    return float(table.labels.sum() / max(relevant.nnz, 1))


def row(name: str, metrics: dict[str, float], versus: Interval | None, role: str) -> dict[str, Any]:
    return {
        "model": name,
        "role": role,
        "ndcg@10": metrics["ndcg@10"],
        "recall@10": metrics["recall@10"],
        "coverage@10": metrics["coverage@10"],
        "top1_share@10": metrics["top1_share@10"],
        "reranked_minus_model": None if versus is None else versus.to_dict(),
    }


def markdown(table: list[dict[str, Any]]) -> str:
    lines = [
        "| model | role | NDCG@10 | recall@10 | coverage@10 | top-1 % share "
        "| reranked - model NDCG@10 [95 % interval] |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table:
        v = r["reranked_minus_model"]
        interval = (
            ""
            if v is None
            else f"{v['difference']:+.4f} [{v['low']:+.4f}, {v['high']:+.4f}]"
            + ("" if v["distinguishable"] else " not distinguishable")
        )
        name = f"**{r['model']}**" if r["model"] == RERANKED else r["model"]
        lines.append(
            f"| {name} | {r['role']} | {r['ndcg@10']:.4f} | {r['recall@10']:.4f} | "
            f"{r['coverage@10']:.3f} | {r['top1_share@10']:.3f} | {interval} |"
        )
    return "\n".join(lines)


@dataclass
class Window:
    """One validation window ready for the ranker: its split, fitted sources, candidates."""

    split: TimeSplit
    served: HybridRecommender
    sources: dict[str, Recommender]
    accounts: npt.NDArray[np.intp]
    table: FeatureTable


def prepare_window(
    lines: OrderLines,
    end: np.datetime64,
    window: float,
    evaluation: EvaluationConfig,
    segments: Mapping[str, str | None],
    dense: DenseLimit,
    features: str = "all",
) -> Window:
    """The validation split of `window` days ending at `end` (the tuner's definition), the tuned
    components fitted on the lines before it, and its accounts' candidates, features, labels."""
    vsplit = validation_split(lines, end, window)
    if not len(vsplit.test_accounts()):
        raise InvalidInput(f"the window {str(vsplit.cutoff)[:10]}..{str(end)[:10]} has no test account")
    say(f"window {span(vsplit)}: fitting the components")
    served = HybridRecommender(evaluation.served, dense=dense).fit(vsplit.train)
    sources = fit_sources(vsplit.train, served, evaluation.popularity_days, segments or None, dense)
    accounts = vsplit.test_accounts()
    table = build_features(
        sources,
        accounts,
        vsplit.train,
        vsplit.train_lines,
        vsplit.cutoff,
        candidate_sources=candidate_sources(sources),
        relevant=vsplit.test.binary,
    )
    return Window(vsplit, served, sources, accounts, chosen(table, features))


def chosen(table: FeatureTable, features: str) -> FeatureTable:
    """The ranker's columns: every feature, only the relative ones, or only the relative ones
    of the personalised sources (model.rerank)."""
    if features == "all":
        return table
    pick = relative_features if features == "relative" else personal_features
    return table.only(pick(table.names))


def span(split: TimeSplit) -> str:
    """'2011-05-24..2011-09-01': a split's test window."""
    return f"{str(split.cutoff)[:10]}..{str(split.end)[:10]}"


def split_accounts(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(learn, held out): a seeded HELD_OUT share of a window's accounts (positions) held out."""
    order = np.random.default_rng(SEED).permutation(n)
    n_held = max(1, round(HELD_OUT * n))
    return np.sort(order[n_held:]).astype(np.intp), np.sort(order[:n_held]).astype(np.intp)


def compare(ranker: Any, w: Window, groups: npt.NDArray[np.intp]) -> list[dict[str, Any]]:
    """On the window's accounts at `groups`: the reranked lists against the blend and the
    baselines fitted there, NDCG@10 over all the accounts' new purchases, paired intervals."""
    table = w.table.subset(groups)
    accounts = table.candidates.accounts
    relevant = w.split.test.binary[accounts]
    popularity, n = w.split.train.product_counts(), w.split.train.shape[1]
    metrics, per = scored(
        rerank(table.candidates, ranker.predict(table.values), k=10), relevant, n, popularity
    )
    out = [row(RERANKED, metrics, None, "second stage")]
    models: list[tuple[str, Recommender, str]] = [("hybrid", w.served, SERVED)]
    if "ease" in w.sources:
        models.append(("ease", w.sources["ease"], BASELINE))
    models.append(("item_knn_bm25", w.sources["knn"], BASELINE))
    models.append(("popularity", w.sources["popularity"], BASELINE))
    for name, model, role in models:
        items, _ = model.recommend(accounts, k=10, exclude_owned=True)
        theirs, their_per = scored(items, relevant, n, popularity)
        out.append(row(name, theirs, paired_bootstrap(per, their_per), role))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path, nargs="?", help="a purchases file in any supported form")
    parser.add_argument("--dataset", choices=sorted(DATASETS), help="a public set (benchmarks/datasets.py)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where --dataset downloads")
    parser.add_argument("--cutoff", help="YYYY-MM-DD (default: --test-days before the last line)")
    parser.add_argument("--test-days", type=int, default=120)
    parser.add_argument("--accounts", type=Path, help="accounts file with id and --segment")
    parser.add_argument("--segment", default="segment")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameters file (its 'model')")
    parser.add_argument("--tune-minutes", type=float, default=3.0, help="stage 1: tune within these minutes")
    parser.add_argument(
        "--features",
        choices=("all", "relative", "personal"),
        default="all",
        help="the ranker's features: all (default); relative: only ranks, z-scores and account "
        "activity; personal: relative without popularity's and segment popularity's",
    )
    parser.add_argument(
        "--no-time-check",
        dest="time_check",
        action="store_false",
        help="skip the check across time (a ranker learnt on the window before the newest)",
    )
    parser.add_argument("--json", type=Path, help="write every figure as JSON")
    args = parser.parse_args()
    if (args.file is None) == (args.dataset is None):
        parser.error("give a purchases file or --dataset NAME (one of them)")
    if args.tune_minutes <= 0:
        parser.error("--tune-minutes must be > 0: the baselines get the same tuning as the blend")

    started = time.perf_counter()
    path = args.file or prepare(args.dataset, args.cache)
    data = read_purchase_file(path)
    segments = read_segments(args.accounts, args.segment) if args.accounts else data.segments
    lines = data.lines
    say(f"read {len(lines):,} order lines from {path.name} ({data.format})")
    cutoff = args.cutoff or str(default_cutoff(lines, args.test_days).date())
    config = read_params(args.params)
    start = HybridParams.from_dict(config["model"]) if "model" in config else HybridParams()
    dense = get_settings().dense

    # 1. Stage 1: the tuner, exactly as quality.py --tune-minutes runs it.
    began = time.perf_counter()
    last = lines.ordered_at.max().astype("datetime64[s]")
    window = float((last - np.datetime64(cutoff, "s")) / np.timedelta64(1, "D"))
    searched = tune(
        lines,
        cutoff,
        minutes=args.tune_minutes,
        window_days=window,
        start=start,
        progress=say,
        finalists=FINALISTS,
        dense=dense,
    )
    evaluation: EvaluationConfig = replace(tuned_config(searched), dense=dense)
    tuning_minutes = (time.perf_counter() - began) / 60

    # 2. The ranker, from the newest validation window only (fold 0 of the tuner's windows).
    began = time.perf_counter()
    newest = prepare_window(
        lines, np.datetime64(cutoff, "s"), window, evaluation, segments, dense, args.features
    )
    learn, held = split_accounts(len(newest.accounts))
    ranker_params = RankerParams()
    ranker = fit_ranker(newest.table.subset(learn), newest.table.subset(held), ranker_params)
    say(f"ranker: {ranker.best_iteration or ranker_params.trees} trees (early stopping on held-out accounts)")
    held_rows = compare(ranker, newest, held)
    v_recall = candidate_recall(newest.table, newest.split.test.binary[newest.accounts])
    # Across time: a ranker learnt on the window before (ending where the newest starts, so
    # nothing overlaps) scored on every account of the newest window - as the test uses a
    # ranker learnt on an earlier period. Still entirely before the cutoff.
    time_rows: list[dict[str, Any]] | None = None
    time_note = ""
    if args.time_check:
        try:
            older = prepare_window(
                lines, newest.split.cutoff, window, evaluation, segments, dense, args.features
            )
            if len(older.accounts) < MIN_TIME_CHECK_ACCOUNTS:
                raise InvalidInput(
                    f"the window before, {span(older.split)}, has {len(older.accounts)} test accounts "
                    f"(fewer than {MIN_TIME_CHECK_ACCOUNTS}: too little history before it)"
                )
            o_learn, o_held = split_accounts(len(older.accounts))
            older_ranker = fit_ranker(older.table.subset(o_learn), older.table.subset(o_held), ranker_params)
            time_rows = compare(older_ranker, newest, np.arange(len(newest.accounts), dtype=np.intp))
            time_note = (
                f"ranker learnt on {span(older.split)} "
                f"({len(o_learn):,} accounts, {older_ranker.best_iteration} trees), scored on all "
                f"{len(newest.accounts):,} accounts of {span(newest.split)}"
            )
        except InvalidInput as error:
            time_note = f"not possible: {error}"
    ranker_minutes = (time.perf_counter() - began) / 60

    # 3. Test: every component refitted on all lines before the cutoff, the evaluation as quality.py.
    began = time.perf_counter()
    split = evaluation_split(lines, cutoff)
    served = HybridRecommender(evaluation.served, dense=dense)
    report = evaluate_split(
        split,
        train_lines=len(split.train_lines),
        segments=segments or None,
        config=evaluation,
        progress=say,
        served=served,
    )
    sources = fit_sources(split.train, served, evaluation.popularity_days, segments or None, dense)
    accounts = split.test_accounts()
    relevant_all = split.test.binary
    table = build_features(
        sources,
        accounts,
        split.train,
        split.train_lines,
        split.cutoff,
        candidate_sources=candidate_sources(sources),
        relevant=relevant_all,
    )
    assert np.array_equal(table.candidates.accounts, accounts)
    items = rerank(table.candidates, ranker.predict(chosen(table, args.features).values), k=10)
    relevant = relevant_all[accounts]
    t_metrics, t_per = scored(items, relevant, split.train.shape[1], split.train.product_counts())
    test_rows = [row(RERANKED, t_metrics, None, "second stage")]
    intervals: dict[str, Interval] = {}
    for r in report.results:
        if r.role == SERVED or r.role == BASELINE:
            assert r.per_account is not None
            intervals[r.name] = paired_bootstrap(t_per, r.per_account)
            test_rows.append(row(r.name, r.metrics, intervals[r.name], r.role))
    test_minutes = (time.perf_counter() - began) / 60
    t_recall = candidate_recall(table, relevant)
    # Pipeline check: the candidates ordered by the blend's own score must give the served
    # model's lists (its top 10 are among its top 50 candidates), hence its NDCG@10.
    by_blend = rerank(table.candidates, table.values[:, table.names.index("blend_score")], k=10)
    pipeline_ndcg, _ = scored(by_blend, relevant, split.train.shape[1], split.train.product_counts())

    best = report.best_baseline()
    lift = t_metrics["ndcg@10"] / best.metrics["ndcg@10"] - 1
    served_lift = report.lift()
    versus = intervals[best.name]
    name = args.dataset or path.name
    importance = dict(
        sorted(
            zip(newest.table.names, (float(g) for g in ranker.feature_importance("gain")), strict=True),
            key=lambda kv: -kv[1],
        )
    )
    print(
        f"\n{name}: cutoff {cutoff}; ranker window {span(newest.split)}: "
        f"{len(learn):,} accounts to learn from, {len(held):,} held out; features: {args.features}; "
        "candidates: union of each "
        f"source's top {CANDIDATES_PER_SOURCE} ({', '.join(candidate_sources(newest.sources))}), "
        f"{len(newest.table.candidates.items) / max(len(newest.accounts), 1):.0f} per account, holding "
        f"{v_recall:.1%} of the window's new purchases ({t_recall:.1%} on the test)\n"
    )
    print("Held-out validation accounts (never trained on; before the cutoff):\n")
    print(markdown(held_rows))
    print(f"\nAcross time ({time_note}):\n")
    if time_rows is not None:
        print(markdown(time_rows))
    print(f"\nTest ({report.test_accounts:,} accounts, {report.test_pairs:,} new pairs):\n")
    print(markdown(test_rows))
    verdict = "distinguishable" if versus.distinguishable else "not distinguishable"
    print(
        f"\nreranked vs best tuned baseline {best.name}: {lift:+.1%} NDCG@10, difference "
        f"{versus.difference:+.4f} [{versus.low:+.4f}, {versus.high:+.4f}] ({verdict}); served blend "
        f"{served_lift:+.1%}; minutes: tuning {tuning_minutes:.1f}, ranker {ranker_minutes:.1f}, "
        f"test {test_minutes:.1f}, {(time.perf_counter() - started) / 60:.1f} in all; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"pipeline check: candidates ordered by the blend's own score: NDCG@10 "
        f"{pipeline_ndcg['ndcg@10']:.4f} (served blend {report.served.metrics['ndcg@10']:.4f})"
    )
    print("top features (gain): " + ", ".join(f"{k} {v:.0f}" for k, v in list(importance.items())[:8]))
    if args.json:
        out = {
            "data": {"name": name, "file": str(path), "format": data.format, "lines": len(lines)},
            "cutoff": cutoff,
            "ranker_window": [str(newest.split.cutoff), str(newest.split.end)],
            "ranker": {
                "params": ranker_params.to_dict(),
                "trees": ranker.best_iteration,
                "candidates_per_source": CANDIDATES_PER_SOURCE,
                "sources": candidate_sources(newest.sources),
                "features": list(newest.table.names),
                "feature_set": args.features,
                "importance_gain": importance,
                "learn_accounts": len(learn),
                "held_out_accounts": len(held),
                "candidate_recall_validation": v_recall,
                "candidate_recall_test": t_recall,
            },
            "held_out": held_rows,
            "across_time": {"note": time_note, "table": time_rows},
            "test": test_rows,
            "best_baseline": best.name,
            "pipeline_check_ndcg@10": pipeline_ndcg["ndcg@10"],
            "reranked_lift_ndcg@10": lift,
            "served_lift_ndcg@10": served_lift,
            "minutes": {
                "tuning": round(tuning_minutes, 2),
                "ranker": round(ranker_minutes, 2),
                "test": round(test_minutes, 2),
                "all": round((time.perf_counter() - started) / 60, 2),
            },
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "tuning": searched.to_dict(),
            "report": report.to_dict(),
        }
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        say(f"wrote {args.json}")


if __name__ == "__main__":
    main()
