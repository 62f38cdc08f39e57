"""Similar accounts from model.peers: exact below the threshold, an HNSW index above it, the
same index in the artifact and at request time, and a damaged index refused at load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crossgraph.errors import InvalidArtifact
from crossgraph.model.artifact import Artifact, similar_accounts, write_artifact
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.peers import INDEX_FILE, PeerIndex, PeerSearch
from crossgraph.recommend.engine import Engine
from tests.unit.test_serving_engine import ALS, IT, accounts, products

ANN = PeerSearch(ann_min_accounts=10, recall_sample=60)  # the 60 test accounts go through HNSW


def clustered(n: int, d: int = 16, seed: int = 0) -> np.ndarray:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, d))
    return (centres[rng.integers(0, 20, n)] + 0.5 * rng.normal(size=(n, d))).astype(np.float32)


def test_exact_peers_rank_by_cosine_ties_to_the_lower_index_never_self_or_zero() -> None:
    factors = np.array([[1, 0], [2, 0], [0, 1], [1, 1], [0, 0], [1, 0]], dtype=np.float32)
    index = PeerIndex.build(factors)
    assert index.method == "exact"
    peers, scores = index.search_accounts([0], 5)
    # account 1 and 5 point the same way as 0 (cosine 1, lower index first); 4 has no factor
    assert peers[0].tolist() == [1, 5, 3, 2, -1]
    assert scores[0][:4] == pytest.approx([1.0, 1.0, np.sqrt(0.5), 0.0], abs=1e-6)
    assert index.search(np.zeros(2), 3)[0].tolist() == [[-1, -1, -1]]


def test_hnsw_peers_agree_with_exact_and_their_recall_is_measured() -> None:
    factors = clustered(3000)
    exact = PeerIndex.build(factors)
    approximate = PeerIndex.build(factors, PeerSearch(ann_min_accounts=1000))
    assert (exact.method, approximate.method) == ("exact", "hnsw")
    every = np.arange(3000)
    want, want_scores = exact.search_accounts(every, 10)
    got, got_scores = approximate.search_accounts(every, 10)
    assert not (got == every[:, None]).any()  # never its own peer
    overlap = np.mean([np.isin(w, g).mean() for w, g in zip(want, got, strict=True)])
    assert overlap >= 0.98
    recall, sampled = approximate.recall(got, sample=500)
    assert sampled == 500 and recall == pytest.approx(overlap, abs=0.02)
    same = got[:, 0] == want[:, 0]
    assert got_scores[same, 0] == pytest.approx(want_scores[same, 0], abs=1e-5)


def write(folder: Path, search: PeerSearch) -> dict[str, object]:
    model = HybridRecommender(HybridParams(als=ALS)).fit(IT)
    folder.mkdir(parents=True)
    return write_artifact(
        folder,
        version="v1",
        model=model,
        interactions=IT,
        accounts=accounts(),
        products=products(),
        metrics={},
        similar_k=5,
        top_n=8,
        peer_search=search,
    )


def test_an_artifact_above_the_threshold_stores_its_hnsw_index_and_the_recall(tmp_path: Path) -> None:
    manifest = write(tmp_path / "v1", ANN)
    peers = manifest["peers"]
    assert isinstance(peers, dict)
    assert peers["method"] == "hnsw" and peers["recall@5"] >= 0.98 and peers["recall_sample"] == 60
    assert peers["params"]["ef_search"] == ANN.ef_search
    assert (tmp_path / "v1" / INDEX_FILE).stat().st_size == peers["bytes"]
    engine = Engine(Artifact.load(tmp_path / "v1"))
    assert engine.artifact.peer_index.method == "hnsw"
    # a refolded account's peers come from the same index as the stored ones (in this data a
    # block's accounts are near-ties, cosine 0.99999, whose order float rounding may swap)
    for account in (0, 17, 42):
        found, sims = engine.nearest_accounts(np.asarray(engine.account_factors[account]), 5, exclude=account)
        assert sorted(found.tolist()) == sorted(engine.similar[account].tolist())
        assert sims == pytest.approx(engine.similar_scores[account], abs=1e-5)


def test_below_the_threshold_the_artifact_has_no_index_and_exact_peers(tmp_path: Path) -> None:
    manifest = write(tmp_path / "v1", PeerSearch())
    assert manifest["peers"]["method"] == "exact"  # type: ignore[index]
    assert not (tmp_path / "v1" / INDEX_FILE).exists()
    artifact = Artifact.load(tmp_path / "v1")
    every = np.arange(len(artifact.accounts))
    _, want = PeerIndex(artifact.account_factors).search_accounts(every, 5)
    # the exact top 5 similarities (which of near-tied peers fills a slot is float rounding)
    assert np.asarray(artifact.similar_scores) == pytest.approx(want, abs=1e-5)


def test_a_damaged_or_foreign_peer_index_is_refused_at_load_naming_the_file(tmp_path: Path) -> None:
    write(tmp_path / "v1", ANN)
    path = tmp_path / "v1" / INDEX_FILE
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidArtifact, match=rf"{INDEX_FILE}: sha256 .* as manifest\.json records"):
        Artifact.load(tmp_path / "v1")
    # an intact index of other factors, its hash recorded: the vectors give it away
    other = tmp_path / "other"
    other.mkdir()
    manifest_path = tmp_path / "v1" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    record = similar_accounts(other, clustered(60, d=8, seed=5), 5, ANN)[2]
    manifest["peers"]["sha256"] = record["sha256"]
    manifest_path.write_text(json.dumps(manifest))
    path.write_bytes((other / INDEX_FILE).read_bytes())
    with pytest.raises(InvalidArtifact, match=r"not the unit account factors of account_factors\.npy"):
        Artifact.load(tmp_path / "v1")
