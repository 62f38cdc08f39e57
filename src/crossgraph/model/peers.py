"""Similar accounts: the k accounts whose ALS factors are closest (cosine) to a given factor.

Exact search compares every account with every other one (accounts^2 x factors: about 2 min
at 100k accounts, 4x that at twice the accounts). From `PeerSearch.ann_min_accounts` accounts
on, an HNSW graph (faiss `IndexHNSWFlat`, inner product on unit vectors = cosine) answers
instead, in about accounts x log(accounts). A fixed candidate list (efSearch) cannot promise a
recall: the same graph finds fewer of the exact peers as accounts grow. So after building the
graph `PeerIndex.calibrate` measures recall against exact search on a seeded sample of accounts
and raises efSearch (doubling, then bisecting) to the smallest value whose one-sided 95 % lower
confidence bound of recall reaches `PeerSearch.recall_target`; the artifact manifest records it.

One `PeerIndex` answers both training (every account's stored peers) and serving (the peers of
an account refolded at request time, recommend.folding), so both rank with the same search.
Ranking: cosine descending, ties to the lower account index; accounts with a zero factor are
never peers; a zero query has no peers; slots that cannot be filled hold -1 and -inf.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossgraph.errors import InvalidArtifact
from crossgraph.model.base import for_chunks, top_k_wide, workers

IntArray = npt.NDArray[np.intp]
ScoreArray = npt.NDArray[np.float32]
INDEX_FILE = "peer_index.faiss"
EXACT, HNSW = "exact", "hnsw"
LEGACY_EF_SEARCH = 96  # the fixed efSearch of artifacts written before calibration
Z_95 = 1.6449  # one-sided 95 % normal quantile


@dataclass(frozen=True)
class PeerSearch:
    """How similar accounts are searched (settings peers_*; docs/scale.md)."""

    ann_min_accounts: int = 50_000  # below: exact search (a few seconds at 50k accounts)
    hnsw_m: int = 32  # graph links per vector (memory: about 2 x 4 x m bytes per account; 16 until
    # 2026-12-02: at 1M accounts 32 met the recall target in 257 s against 617, docs/scale.md)
    ef_construction: int = 80  # candidate list while building: higher = better graph, slower build
    ef_search: int = 96  # where calibration starts: the candidate list per query it tries first
    recall_sample: int = 1000  # accounts whose ANN peers are compared with exact ones
    seed: int = 0
    recall_target: float = 0.98  # calibration's goal for the 95 % lower bound of recall@k
    ef_search_max: int = 1024  # calibration's ceiling for efSearch

    def __post_init__(self) -> None:
        for name in ("ann_min_accounts", "hnsw_m", "ef_construction", "ef_search", "recall_sample"):
            if getattr(self, name) < 1:
                raise ValueError(f"peer search {name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.recall_target <= 1:
            raise ValueError(f"peer search recall_target must be in (0, 1], got {self.recall_target}")
        if self.ef_search_max < self.ef_search:
            raise ValueError(
                f"peer search ef_search_max ({self.ef_search_max}) must be >= ef_search "
                f"({self.ef_search}), where calibration starts"
            )

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


@dataclass(frozen=True)
class Calibration:
    """What `PeerIndex.calibrate` found: the efSearch chosen and the recall measured on the way.

    Recall of one sampled account: the share of its exact top-k peers the HNSW search returns.
    recall is their mean over the sample; lower_bound its one-sided 95 % lower confidence bound
    over the accounts (mean - 1.645 x sd / sqrt(n)): the accounts are the independent draws,
    the k slots of one account are not (its neighbours are found or missed together), so a
    bound over k x n slots would claim a precision the sample does not have."""

    ef_search: int
    k: int
    recall: float
    lower_bound: float
    target: float
    met: bool
    tried: list[tuple[int, float]]  # (efSearch, recall) in the order tried
    sample: int
    seconds: float
    rows: IntArray = field(repr=False)  # the sampled accounts
    truth: IntArray = field(repr=False)  # their exact top-k peers (-1: none)

    @property
    def warning(self) -> str | None:
        if self.met:
            return None
        return (
            f"similar accounts: HNSW recall@{self.k} {self.recall:.4f} (95 % lower bound "
            f"{self.lower_bound:.4f}) at efSearch {self.ef_search} is below the target "
            f"{self.target:g}; raise CROSSGRAPH_PEERS_EF_SEARCH_MAX, or CROSSGRAPH_PEERS_HNSW_M / "
            "CROSSGRAPH_PEERS_EF_CONSTRUCTION for a better graph, and retrain"
        )


def account_recalls(found: IntArray, truth: IntArray) -> npt.NDArray[np.float64]:
    """Per account (row), the share of its exact peers (`truth`, -1 = none) that `found` holds;
    accounts without exact peers (a zero factor) are left out."""
    want = truth >= 0
    # rows hold distinct peers, so a match of slot j anywhere in the found row is one hit
    hits = ((truth[:, :, None] == found[:, None, :]).any(axis=2) & want).sum(axis=1)
    counts = want.sum(axis=1)
    recalls: npt.NDArray[np.float64] = hits[counts > 0] / counts[counts > 0]
    return recalls


def recall_bound(recalls: npt.NDArray[np.float64]) -> tuple[float, float]:
    """(mean, one-sided 95 % lower confidence bound of the mean) of per-account recalls."""
    if len(recalls) == 0:
        return 1.0, 1.0
    mean = float(recalls.mean())
    spread = float(recalls.std(ddof=1)) / math.sqrt(len(recalls)) if len(recalls) > 1 else 0.0
    return mean, max(0.0, mean - Z_95 * spread)


def _unit(factors: npt.ArrayLike) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    array = np.asarray(factors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1).astype(np.float32)
    return np.ascontiguousarray(array / np.where(norms > 0, norms, 1.0)[:, None]), norms


def _faiss() -> Any:
    import faiss  # imported when needed: exact search and serving without an index never load it

    faiss.omp_set_num_threads(workers())
    return faiss


class PeerIndex:
    """Nearest accounts by cosine of ALS factors; exact below the threshold, HNSW above it."""

    def __init__(self, factors: npt.ArrayLike, hnsw: Any = None, ef_search: int = LEGACY_EF_SEARCH) -> None:
        self.unit, self.norms = _unit(factors)
        self.empty = self.norms == 0
        self.hnsw = hnsw
        if hnsw is not None:
            self.ef_search = ef_search

    @property
    def ef_search(self) -> int | None:
        """The candidate list every HNSW search uses (None when exact)."""
        return None if self.hnsw is None else int(self.hnsw.hnsw.efSearch)

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        self.hnsw.hnsw.efSearch = int(value)

    @property
    def method(self) -> str:
        return EXACT if self.hnsw is None else HNSW

    @property
    def n_accounts(self) -> int:
        return int(self.unit.shape[0])

    @classmethod
    def build(cls, factors: npt.ArrayLike, config: PeerSearch = PeerSearch()) -> PeerIndex:
        """Exact for fewer than `config.ann_min_accounts` accounts, else an HNSW graph of them
        searching with `config.ef_search` (see `calibrate` for the efSearch to keep)."""
        unit, _ = _unit(factors)
        if len(unit) < config.ann_min_accounts:
            return cls(unit)
        faiss = _faiss()
        index = faiss.IndexHNSWFlat(unit.shape[1], config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.ef_construction
        index.add(unit)
        return cls(unit, index, config.ef_search)

    def search(
        self, queries: npt.ArrayLike, k: int, exclude: npt.ArrayLike | None = None, batch: int = 1024
    ) -> tuple[IntArray, ScoreArray]:
        """(indices[n, k], cosine[n, k]) of the accounts closest to each query factor;
        exclude[i] (an account index, or -1) is never a peer of query i (an account itself)."""
        unit, norms = _unit(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
        return self._search(unit, norms, k, exclude, batch)

    def search_accounts(self, accounts: npt.ArrayLike, k: int) -> tuple[IntArray, ScoreArray]:
        """The peers of the model's own accounts (each never its own peer)."""
        rows = np.asarray(accounts, dtype=np.intp).reshape(-1)
        return self._search(self.unit[rows], self.norms[rows], k, rows)

    def _search(
        self,
        unit: npt.NDArray[np.float32],
        norms: npt.NDArray[np.float32],
        k: int,
        exclude: npt.ArrayLike | None,
        batch: int = 1024,
    ) -> tuple[IntArray, ScoreArray]:
        n = len(unit)
        skip = np.full(n, -1, dtype=np.intp) if exclude is None else np.asarray(exclude, dtype=np.intp)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        out_i = np.full((n, k), -1, dtype=np.intp)
        out_s = np.full((n, k), -np.inf, dtype=np.float32)
        search = self._exact if self.hnsw is None else self._approximate

        def rank(start: int, stop: int) -> None:
            out_i[start:stop], out_s[start:stop] = search(unit[start:stop], k, skip[start:stop])

        for_chunks(n, batch, rank, threads=None if self.hnsw is None else 1)  # faiss threads itself
        out_i[norms == 0], out_s[norms == 0] = -1, -np.inf
        return out_i, out_s

    def _exact(self, unit: npt.NDArray[np.float32], k: int, skip: IntArray) -> tuple[IntArray, ScoreArray]:
        sims = (unit @ self.unit.T).astype(np.float32, copy=False)
        own = skip >= 0
        sims[np.flatnonzero(own), skip[own]] = -np.inf
        sims[:, self.empty] = -np.inf
        return top_k_wide(sims, k)

    def _approximate(
        self, unit: npt.NDArray[np.float32], k: int, skip: IntArray
    ) -> tuple[IntArray, ScoreArray]:
        # one more than k: the query's own account is usually its own nearest neighbour
        sims, found = self.hnsw.search(unit, min(k + 1, self.n_accounts))
        found = found.astype(np.intp)
        sims = sims.astype(np.float32)
        drop = (found < 0) | (found == skip[:, None])
        drop[~drop] = self.empty[found[~drop]]
        sims[drop] = -np.inf
        found[drop] = np.iinfo(np.intp).max
        order = np.lexsort((found, -sims), axis=1)[:, :k]  # cosine descending, ties to the lower index
        items = np.take_along_axis(found, order, axis=1)
        scores = np.take_along_axis(sims, order, axis=1)
        valid = np.isfinite(scores)
        out_i = np.full((len(unit), k), -1, dtype=np.intp)
        out_s = np.full((len(unit), k), -np.inf, dtype=np.float32)
        width = items.shape[1]
        out_i[:, :width] = np.where(valid, items, -1)
        out_s[:, :width] = np.where(valid, scores, -np.inf)
        return out_i, out_s

    def calibrate(self, k: int, config: PeerSearch = PeerSearch()) -> Calibration | None:
        """Set the smallest efSearch whose recall@k reaches `config.recall_target` (its 95 % lower
        bound, see Calibration) on `config.recall_sample` accounts drawn with `config.seed`, and
        say what was tried; None when the index is exact (recall 1).

        The exact top-k of the sample is computed once. efSearch starts at `config.ef_search`
        and doubles until the bound reaches the target or `config.ef_search_max` is reached,
        then bisects between the last value that missed and the first that passed until they
        are within 1/16 of each other. When even `ef_search_max` misses, it is kept (the best
        recall on offer) and the calibration is not `met`."""
        if self.hnsw is None:
            return None
        started = time.perf_counter()
        rows = np.sort(
            np.random.default_rng(config.seed).choice(
                self.n_accounts, min(config.recall_sample, self.n_accounts), replace=False
            )
        ).astype(np.intp)
        truth, _ = PeerIndex(self.unit)._search(self.unit[rows], self.norms[rows], k, rows, batch=128)
        measured: dict[int, tuple[float, float]] = {}

        def measure(ef: int) -> bool:
            self.ef_search = ef
            found, _ = self.search_accounts(rows, k)
            measured[ef] = recall_bound(account_recalls(found, truth))
            return measured[ef][1] >= config.recall_target

        ef, failed = config.ef_search, 0
        while not (passed := measure(ef)) and ef < config.ef_search_max:
            failed, ef = ef, min(2 * ef, config.ef_search_max)
        if passed:
            while failed and ef - failed > max(1, ef // 16):
                middle = (failed + ef) // 2
                if measure(middle):
                    ef = middle
                else:
                    failed = middle
        self.ef_search = ef
        recall, lower = measured[ef]
        return Calibration(
            ef_search=ef,
            k=k,
            recall=recall,
            lower_bound=lower,
            target=config.recall_target,
            met=passed,
            tried=[(e, round(r, 4)) for e, (r, _) in measured.items()],
            sample=len(rows),
            seconds=time.perf_counter() - started,
            rows=rows,
            truth=truth,
        )

    # -- the artifact's copy ---------------------------------------------------------------
    def save(self, folder: Path) -> dict[str, Any]:
        """Write the HNSW graph into the artifact folder; returns what the manifest records of it."""
        if self.hnsw is None:
            return {}
        path = folder / INDEX_FILE
        _faiss().write_index(self.hnsw, str(path))
        return {"file": INDEX_FILE, "sha256": _sha256(path), "bytes": path.stat().st_size}

    @classmethod
    def load(cls, folder: Path, factors: npt.ArrayLike, manifest: dict[str, Any]) -> PeerIndex:
        """The index an artifact was written with: exact without a recorded file; else its HNSW
        graph, read only after its sha256 matches the manifest (faiss parses trusted bytes only)
        and checked to hold these very factors, searching with the efSearch calibration chose
        (artifacts from before calibration: the fixed value they were searched with)."""
        peers = manifest.get("peers") or {}
        if peers.get("method", EXACT) == EXACT:
            return cls(factors)
        path = folder / str(peers.get("file", INDEX_FILE))
        try:
            digest = _sha256(path)
        except OSError as exc:
            raise InvalidArtifact(f"{path}: cannot be read ({exc})") from exc
        if digest != peers.get("sha256"):
            raise InvalidArtifact(
                f"{path}: sha256 {digest[:12]}..., expected {str(peers.get('sha256'))[:12]}... "
                "as manifest.json records (a damaged or replaced peer index)"
            )
        try:
            hnsw = _faiss().read_index(str(path))
        except (RuntimeError, ImportError) as exc:
            raise InvalidArtifact(f"{path}: cannot be read as a faiss index ({exc})") from exc
        ef_search = peers.get("ef_search") or (peers.get("params") or {}).get("ef_search", LEGACY_EF_SEARCH)
        index = cls(factors, hnsw, int(ef_search))
        index._check(path)
        return index

    def _check(self, path: Path) -> None:
        faiss = _faiss()
        n, d = self.unit.shape
        kind = type(faiss.downcast_index(self.hnsw)).__name__
        if kind != "IndexHNSWFlat" or self.hnsw.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise InvalidArtifact(f"{path}: a {kind} index, expected IndexHNSWFlat on inner product")
        if (self.hnsw.ntotal, self.hnsw.d) != (n, d):
            raise InvalidArtifact(
                f"{path}: {self.hnsw.ntotal} vectors of {self.hnsw.d} factors, expected {n} x {d} "
                "to agree with account_factors.npy"
            )
        rows = np.unique(np.linspace(0, n - 1, min(n, 64)).astype(np.int64))
        stored = np.vstack([self.hnsw.reconstruct(int(r)) for r in rows])
        if not np.allclose(stored, self.unit[rows], atol=1e-5):
            raise InvalidArtifact(
                f"{path}: its vectors are not the unit account factors of account_factors.npy"
            )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
