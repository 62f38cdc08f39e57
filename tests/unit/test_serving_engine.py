"""Serving on a real artifact written from a small fit (no Neo4j): rankings, filters, peer
evidence, drivers and the fallback for accounts newer than the model."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from crossgraph.data.matrix import build_interactions
from crossgraph.data.weighting import WeightingConfig
from crossgraph.errors import InvalidArtifact
from crossgraph.model.als import ALSParams, ALSRecommender
from crossgraph.model.artifact import Artifact, write_artifact
from crossgraph.model.explain import ALSExplainer
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.recommend.engine import DriverDict, Engine, EvidenceDict, Filters, model_reason
from crossgraph.recommend.nba import UnknownValues, parse_filters, parse_kinds
from tests.unit.lines_factory import block_lines

LINES = block_lines(n_accounts=60, n_blocks=3, block_size=6, seed=3)
IT = build_interactions(LINES)
KINDS = ["machine", "part", "consumable", "service", "training", "software"]
ALS = ALSParams(
    factors=8,
    regularization=0.5,
    alpha=4.0,
    iterations=10,
    random_state=1,
    weighting=WeightingConfig(scheme="log", value="orders"),
)


def products(inactive: str | None = None) -> list[dict[str, object]]:
    return [
        {
            "sku": sku,
            "name": f"Product {sku}",
            "category": f"C{int(sku[1:]) // 6}",  # one category per block
            "kind": KINDS[int(sku[1:]) % 6],
            "active": sku != inactive,
        }
        for sku in IT.products.ids
    ]


def accounts() -> list[dict[str, object]]:
    return [
        {
            "id": a,
            "name": f"Account {a}",
            "industry": f"ind{int(a[1:]) % 3}",
            "country": "DE" if int(a[1:]) < 40 else "FR",
        }
        for a in IT.accounts.ids
    ]


def build(
    tmp_path: Path, inactive: str | None = None, installed: list[tuple[str, str]] | None = None
) -> Engine:
    model = HybridRecommender(HybridParams(als=ALS)).fit(IT)
    folder = tmp_path / "v1"
    folder.mkdir(parents=True)
    write_artifact(
        folder,
        version="v1",
        model=model,
        interactions=IT,
        accounts=accounts(),
        products=products(inactive),
        metrics={},
        similar_k=5,
        top_n=8,
        installed=installed or [],
    )
    return Engine(Artifact.load(folder))


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return build(tmp_path_factory.mktemp("artifact"))


def test_explainer_matches_implicits_explain_term_for_term() -> None:
    als = ALSRecommender(ALS).fit(IT)
    explainer = ALSExplainer(als.item_factors, als.user_items * ALS.alpha, ALS.regularization)
    for account in (0, 7, 31):
        items = np.arange(IT.shape[1])
        owned, terms = explainer.contributions(account, items)
        for item in (0, 5, 11):
            total, top, _ = als._model.explain(account, als.user_items, item, N=len(owned))
            assert terms[:, item].sum() == pytest.approx(total, rel=1e-4, abs=1e-6)
            expected = dict(top)
            for j, term in zip(owned, terms[:, item], strict=True):
                assert term == pytest.approx(expected[int(j)], rel=1e-4, abs=1e-6)


def test_recommendations_follow_the_stored_ranking_and_never_repeat_owned(engine: Engine) -> None:
    for account in range(0, 60, 7):
        items = engine.recommend(account, limit=4)
        stored = [int(i) for i in engine.recommended[account] if i >= 0][:4]
        assert [engine.product_index[s["sku"]] for s in items] == stored
        owned = {engine.skus[j] for j in engine.owned_indices(account)}
        assert not {s["sku"] for s in items} & owned
        assert [s["rank"] for s in items] == list(range(1, len(items) + 1))
        assert {s["source"] for s in items} == {"model"}


def test_peer_evidence_counts_the_closest_peers_owning_each_product(engine: Engine) -> None:
    account = 4
    items = engine.recommend(account, limit=6)
    peers = [int(p) for p in engine.similar[account] if p >= 0]
    for s in items:
        owners = [p for p in peers if engine.product_index[s["sku"]] in engine.owned_indices(p)]
        assert s["evidence"]["peers_considered"] == len(peers) == 5
        assert s["evidence"]["peers_owning"] == len(owners)
        assert [engine.account_index[p["id"]] for p in s["evidence"]["top_peers"]] == owners[:3]
        if owners:
            verb = "owns" if len(owners) == 1 else "own"
            assert s["reason"].startswith(f"{len(owners)} of your 5 closest peers {verb} Product {s['sku']}")
        assert all(
            d["sku"] in {IT.products.id(int(j)) for j in engine.owned_indices(account)} for d in s["drivers"]
        )


def test_installed_machines_count_as_owned_not_as_suggestions(engine: Engine, tmp_path: Path) -> None:
    """A product the account has installed (an asset, never bought in the order lines) is not
    offered, and peers who have it installed count as owning it in the evidence."""
    account = 4
    me = IT.accounts.id(account)
    first, second = engine.recommend(account, limit=2)
    peers = [IT.accounts.id(int(p)) for p in engine.similar[account] if p >= 0]
    installed = [
        (me, first["sku"]),
        *((peer, second["sku"]) for peer in peers),
        ("A-unknown", first["sku"]),  # not in the model: left out
        (me, "P-unknown"),
    ]
    held = build(tmp_path, installed=installed)
    items = held.recommend(account, limit=8)
    assert first["sku"] not in [s["sku"] for s in items]
    assert held.product_index[first["sku"]] in held.owned_indices(account)
    evidence = next(s["evidence"] for s in items if s["sku"] == second["sku"])
    assert evidence["peers_owning"] == evidence["peers_considered"] == len(peers)
    newly_owned = 1 + len(peers) - second["evidence"]["peers_owning"]
    assert held.artifact.manifest["data"]["installed_only_pairs"] == newly_owned


def test_filters_and_the_als_extension(engine: Engine) -> None:
    account = 10
    base = engine.recommend(account, limit=3)
    skipped = engine.recommend(account, limit=3, filters=Filters.of(exclude=[base[0]["sku"]]))
    assert [s["sku"] for s in skipped][:2] == [s["sku"] for s in base][1:3]
    # A category with few products in the stored top-8 of this account: the stored ones come
    # first, then ALS alone completes the list, labelled, unowned and ranked by ALS score.
    for category in ("C0", "C1", "C2"):
        items = engine.recommend(account, limit=6, filters=Filters.of(categories=[category]))
        stored = [int(i) for i in engine.recommended[account] if i >= 0 and engine.categories[i] == category]
        mine = set(engine.owned_indices(account).tolist())
        available = [i for i in range(len(engine.skus)) if engine.categories[i] == category and i not in mine]
        assert len(items) == min(6, len(available))
        assert {s["category"] for s in items} <= {category}
        assert [engine.product_index[s["sku"]] for s in items if s["source"] == "model"] == stored[:6]
        extension = [s for s in items if s["source"] == "als"]
        assert [s["source"] for s in items] == ["model"] * (len(items) - len(extension)) + ["als"] * len(
            extension
        )
        owned = {engine.skus[j] for j in engine.owned_indices(account)}
        assert not {s["sku"] for s in items} & owned
        scores = [s["score"] for s in extension]
        assert scores == sorted(scores, reverse=True)
    assert any(
        s["source"] == "als"
        for c in ("C0", "C1", "C2")
        for s in engine.recommend(account, limit=6, filters=Filters.of(categories=[c]))
    )
    only = engine.recommend(account, limit=2, filters=Filters.of(kinds=["service"]))
    assert only and all(s["product_kind"] == "service" for s in only)


def test_reason_says_owns_for_one_peer_and_own_for_several() -> None:
    def evidence(owning: int) -> EvidenceDict:
        return {"peers_considered": 20, "peers_owning": owning, "top_peers": []}

    driver: list[DriverDict] = [{"sku": "M1", "name": "Press X100", "contribution": 0.3}]
    assert model_reason("Coolant", evidence(1), []) == "1 of your 20 closest peers owns Coolant"
    assert (
        model_reason("Coolant", evidence(2), driver)
        == "2 of your 20 closest peers own Coolant; goes with Press X100, which you own"
    )
    assert model_reason("Coolant", evidence(0), []).startswith("Accounts with a purchase profile")


def test_filters_match_categories_and_kinds_in_any_case_and_refuse_unknown_ones(engine: Engine) -> None:
    filters = parse_filters(engine, ["c1", "C2"], ["SERVICE,Part"], ["P01"])
    assert filters == Filters.of(categories=["C1", "C2"], kinds=["service", "part"], exclude=["P01"])
    account = 10
    assert engine.recommend(account, 4, parse_filters(engine, ["c1"])) == engine.recommend(
        account, 4, Filters.of(categories=["C1"])
    )
    with pytest.raises(UnknownValues) as refused:
        parse_filters(engine, ["C1,Nope"], where="body")
    assert str(refused.value) == "category: unknown 'Nope'; expected one of C0, C1, C2 (case-insensitive)"
    assert refused.value.field_errors() == [
        {
            "field": "body.category",
            "message": "unknown value",
            "input": "Nope",
            "expected": ["C0", "C1", "C2"],
        }
    ]
    with pytest.raises(UnknownValues, match=r"^kind: unknown 'foo'; expected one of consumable, machine"):
        parse_filters(engine, kind=["foo"])
    assert parse_filters(engine, exclude=["NO-SUCH-SKU"]).exclude == {"NO-SUCH-SKU"}  # excluding is harmless
    assert parse_kinds(["Upsell,cross_sell"]) == ("cross_sell", "upsell")
    with pytest.raises(UnknownValues, match="kinds: unknown 'resale'"):
        parse_kinds(["resale"])


def test_inactive_products_are_never_suggested(tmp_path: Path) -> None:
    first = build(tmp_path / "a").recommend(0, limit=1)[0]["sku"]
    engine = build(tmp_path / "b", inactive=first)
    assert first not in {s["sku"] for a in range(60) for s in engine.recommend(a, limit=8)}
    assert first not in {s["sku"] for s in engine.fallback(industry="ind0", country=None, owned_skus=[])[1]}


def test_fallback_ranks_by_segment_share_and_skips_owned(engine: Engine) -> None:
    label, items = engine.fallback(industry="ind1", country="DE", owned_skus=["P07"], limit=4)
    assert label == "industry ind1"
    members = [i for i in range(60) if i % 3 == 1]
    share = np.asarray(engine.owned[members].sum(axis=0)).ravel() / len(members)
    assert "P07" not in {s["sku"] for s in items}
    expected = [share[engine.product_index[s["sku"]]] for s in items]
    assert [s["model_score"] for s in items] == pytest.approx(expected, abs=1e-4)
    fit = engine.fallback_fit_scores(industry="ind1", country="DE", owned_skus=["P07"])
    assert [s["score"] for s in items] == [fit[engine.product_index[s["sku"]]] for s in items]
    assert items[0]["score"] == 100.0 and engine.product_index["P07"] not in fit
    assert all(s["source"] == "segment_popularity" and "New account" in s["reason"] for s in items)
    unknown_label, _ = engine.fallback(industry="nobody", country="FR", owned_skus=[])
    assert unknown_label == "country FR"
    assert engine.fallback(industry=None, country=None, owned_skus=[])[0] == "all accounts"


def test_similar_accounts_report_overlap_and_missing_products(engine: Engine) -> None:
    for peer in engine.similar_accounts(3, limit=5, lacking=3):
        mine = set(engine.owned_indices(3).tolist())
        theirs = set(engine.owned_indices(peer.peer.index).tolist())
        assert peer.shared_products == len(mine & theirs)
        assert set(peer.lacking) <= theirs - mine


def test_stored_evidence_equals_the_live_computation(engine: Engine) -> None:
    """The sidebar path reads evidence precomputed at training time; products outside the stored
    list get it computed live. Both must give the same peer numbers for the same product. The
    drivers differ on purpose: the stored list's split the blend, the live ones ALS, each the
    score it comes with (tests/unit/test_blended_drivers.py)."""
    import numpy as np

    for account in range(0, 60, 5):
        stored = engine.recommend(account, limit=8)
        items = np.asarray([engine.product_index[s["sku"]] for s in stored])
        scores = np.asarray([s["score"] for s in stored])
        places = engine.places(account)[items]
        live = engine._suggestions(account, items, scores, places, ["model"] * len(items), 3)
        for a, b, item in zip(stored, live, items.tolist(), strict=True):
            assert a["evidence"] == b["evidence"]
            drivers, scored_by = engine.explained(account, item)
            assert a["drivers"] == drivers and scored_by.startswith(("ALS", "EASE", "item-kNN"))
            assert a["reason"] == model_reason(a["name"], b["evidence"], drivers, scored_by)
            assert b["reason"].endswith("; scored by ALS")


def test_fit_score_maps_a_place_among_the_candidates_to_0_100() -> None:
    from crossgraph.recommend.engine import fit_score

    assert [fit_score(p, 5) for p in range(5)] == [100.0, 75.0, 50.0, 25.0, 0.0]
    assert fit_score(0, 1) == 100.0 and fit_score(2, 3) == 0.0
    with pytest.raises(ValueError, match="place must be >= 0"):
        fit_score(-1, 3)


def test_a_product_has_one_score_for_an_account_in_lists_and_on_its_own(engine: Engine) -> None:
    """The list's score (stored list, ALS extension under a filter) is the product's place in the
    account's whole ranking, the same number fit_scores gives for it alone."""
    for account in range(0, 60, 7):
        fit = engine.fit_scores(account)
        assert len(fit) == engine.candidates[account]
        assert not set(fit) & set(engine.owned_indices(account).tolist())
        long = engine.recommend(account, limit=40)
        narrow = engine.recommend(account, limit=10, filters=Filters.of(kinds=["consumable"]))
        for item in [*long, *narrow]:
            assert item["score"] == fit[engine.product_index[item["sku"]]], item["sku"]
        assert long[0]["score"] == 100.0 and min(fit.values()) == 0.0
        scores = [i["score"] for i in long]
        assert scores == sorted(scores, reverse=True)


def truncate_rows(name: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        array = np.load(folder / name)
        np.save(folder / name, array[:-1])

    return damage


def cut_file(name: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])

    return damage


def point_past_the_products(folder: Path) -> None:
    recommended = np.load(folder / "recommended.npy")
    recommended[3, 0] = IT.shape[1]  # one past the last product
    np.save(folder / "recommended.npy", recommended)


def point_past_the_peers(folder: Path) -> None:
    shown = np.load(folder / "evidence_peers.npy")
    shown[2, 0, 0] = 5  # similar_k is 5: positions 0..4
    np.save(folder / "evidence_peers.npy", shown)


@pytest.mark.parametrize(
    ("damage", "file", "problem"),
    [
        (truncate_rows("product_factors.npy"), "product_factors.npy", r"shape \(17, 8\), expected \(18, 8\)"),
        (truncate_rows("account_factors.npy"), "account_factors.npy", r"shape \(59, 8\), expected \(60, 8\)"),
        (truncate_rows("recommended_scores.npy"), "recommended_scores.npy", r"expected \(60, 8\)"),
        (truncate_rows("driver_items.npy"), "driver_items.npy", r"expected \(60, 8, 3\)"),
        (cut_file("similar_accounts.npy"), "similar_accounts.npy", "cannot be read"),
        (cut_file("owned.npz"), "owned.npz", "cannot be read"),
        (point_past_the_products, "recommended.npy", "expected -1 .none. to 17"),
        (point_past_the_peers, "evidence_peers.npy", "peer position 5, expected 255 .none. or below 5"),
    ],
    ids=[
        "product-rows",
        "account-rows",
        "scores",
        "drivers",
        "cut-npy",
        "cut-npz",
        "index-range",
        "peer-range",
    ],
)
def test_a_damaged_artifact_is_refused_at_load_naming_the_file(
    engine: Engine, tmp_path: Path, damage: Callable[[Path], None], file: str, problem: str
) -> None:
    """A damaged version fails when it is loaded, not with an IndexError when an account asks."""
    folder = tmp_path / "damaged"
    shutil.copytree(engine.artifact.path, folder)
    damage(folder)
    with pytest.raises(InvalidArtifact, match=problem) as refused:
        Artifact.load(folder)
    assert str(refused.value).startswith(f"{folder / file}: ")


def test_an_artifact_written_before_blended_drivers_still_serves(engine: Engine, tmp_path: Path) -> None:
    """Format 3 (no component shares) loads after an upgrade: the same list, reasons without
    'scored by', until the next training run writes format 4."""
    folder = tmp_path / "format3"
    shutil.copytree(engine.artifact.path, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.pop("components", None)
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format": 3}))
    (folder / "component_shares.npy").unlink()
    old = Engine(Artifact.load(folder))
    account = engine.account_ids[0]
    items = old.recommend(old.account_index[account], 5)
    assert [i["sku"] for i in items] == [i["sku"] for i in engine.recommend(engine.account_index[account], 5)]
    assert items and all("scored by" not in i["reason"] for i in items)


def test_an_artifact_of_another_format_is_refused_naming_the_manifest(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "old"
    shutil.copytree(engine.artifact.path, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format": 2}))
    with pytest.raises(InvalidArtifact, match=r"manifest.json: artifact format 2, expected 4"):
        Artifact.load(folder)
