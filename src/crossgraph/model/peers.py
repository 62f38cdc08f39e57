"""Similar accounts: the k accounts whose ALS factors are closest (cosine) to a given factor.

Exact search compares every account with every other one (accounts^2 x factors: about 2 min
at 100k accounts, 4x that at twice the accounts). From `PeerSearch.ann_min_accounts` accounts
on, an HNSW graph (faiss `IndexHNSWFlat`, inner product on unit vectors = cosine) answers
instead, in about accounts x log(accounts); its recall against exact search is measured on a
sample of accounts at build time and recorded in the artifact manifest.

One `PeerIndex` answers both training (every account's stored peers) and serving (the peers of
an account refolded at request time, recommend.folding), so both rank with the same search.
Ranking: cosine descending, ties to the lower account index; accounts with a zero factor are
never peers; a zero query has no peers; slots that cannot be filled hold -1 and -inf.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
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


@dataclass(frozen=True)
class PeerSearch:
    """How similar accounts are searched (settings peers_*; docs/scale.md)."""

    ann_min_accounts: int = 50_000  # below: exact search (a few seconds at 50k accounts)
    hnsw_m: int = 16  # graph links per vector (memory: about 2 x 4 x m bytes per account)
    ef_construction: int = 80  # candidate list while building: higher = better graph, slower build
    ef_search: int = 96  # candidate list per query: higher = better recall, slower search
    recall_sample: int = 1000  # accounts whose ANN peers are compared with exact ones
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("ann_min_accounts", "hnsw_m", "ef_construction", "ef_search", "recall_sample"):
            if getattr(self, name) < 1:
                raise ValueError(f"peer search {name} must be >= 1, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


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

    def __init__(self, factors: npt.ArrayLike, hnsw: Any = None, ef_search: int = 96) -> None:
        self.unit, self.norms = _unit(factors)
        self.empty = self.norms == 0
        self.hnsw = hnsw
        if hnsw is not None:
            hnsw.hnsw.efSearch = ef_search

    @property
    def method(self) -> str:
        return EXACT if self.hnsw is None else HNSW

    @property
    def n_accounts(self) -> int:
        return int(self.unit.shape[0])

    @classmethod
    def build(cls, factors: npt.ArrayLike, config: PeerSearch = PeerSearch()) -> PeerIndex:
        """Exact for fewer than `config.ann_min_accounts` accounts, else an HNSW graph of them."""
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

    def recall(self, found: IntArray, sample: int, seed: int = 0) -> tuple[float, int]:
        """Mean share of each sampled account's exact top-k peers that `found` (its rows: every
        account's peers from this index) also holds; (1.0, 0) when the index is exact."""
        if self.hnsw is None:
            return 1.0, 0
        k = found.shape[1]
        rows = np.random.default_rng(seed).choice(
            self.n_accounts, min(sample, self.n_accounts), replace=False
        )
        exact = PeerIndex(self.unit)
        truth, _ = exact.search_accounts(rows, k)
        hits = total = 0
        for got, want in zip(found[rows], truth, strict=True):
            want = want[want >= 0]
            hits += int(np.isin(want, got).sum())
            total += len(want)
        return (hits / total if total else 1.0), len(rows)

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
        and checked to hold these very factors."""
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
        index = cls(factors, hnsw, int(peers.get("params", {}).get("ef_search", PeerSearch.ef_search)))
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
