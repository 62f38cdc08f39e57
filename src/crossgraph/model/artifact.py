"""The artifact: everything serving needs from one fit, in one versioned directory.

    manifest.json           version, created, parameters, data fingerprint, metrics, libraries
    account_ids.npy         external ids, index order of every account array (unicode, no pickle)
    product_ids.npy         external skus, index order of every product array
    account_factors.npy     ALS account factors (float32), memory-mappable
    product_factors.npy     ALS product factors (float32), memory-mappable
    owned.npz               accounts x products owned at fit time (CSR, binary)
    als_confidence.npz      the confidences ALS was fitted on (alpha x weighted matrix), for `explain`
    similar_accounts.npy    top-K peers per account by ALS cosine (int32; -1 = none), from model.peers
    peer_index.faiss        the HNSW graph those peers came from, above peers_ann_min_accounts
                            accounts only (manifest "peers": method, parameters, the calibrated
                            efSearch, recall and its lower bound, sha256);
                            serving searches it for accounts refolded at request time
    similar_scores.npy      their similarity (float32)
    recommended.npy         top-N unowned products per account by the served model (int32; -1 = none)
    recommended_scores.npy  their scores (float32)
    evidence_counts.npy, evidence_peers.npy, driver_items.npy, driver_scores.npy,
    component_shares.npy    peer evidence (ALS peers), drivers (the served blend's split) and
                            each weighted component's percent of the score, for every stored
                            recommendation (crossgraph.model.evidence; manifest
                            "components" names the share columns), so the sidebar path only reads
    accounts.json / products.json   display attributes (name, industry, country, category, ...)

Scoring the blend needs EASE and item-kNN matrices that are large; serving reads the
precomputed top-N instead and filters it (category, kind, excludes) per request, which is
also what makes a CRM sidebar answer in microseconds.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from crossgraph.data.matrix import IdMap, Interactions
from crossgraph.errors import InvalidArtifact
from crossgraph.model.evidence import NONE_PEER, stored_evidence
from crossgraph.model.explain import ALSExplainer
from crossgraph.model.hybrid import HybridRecommender
from crossgraph.model.peers import PeerIndex, PeerSearch, account_recalls, recall_bound

T = TypeVar("T")
ARTIFACT_FORMAT = 4  # 2: als_confidence.npz; 3: stored evidence and drivers; 4: blended drivers, shares
# Format 3 still loads (its drivers split ALS only, its reasons name no components), so serving
# goes on after an upgrade until the next training run writes format 4.
FORMATS_READ = (3, ARTIFACT_FORMAT)


def fingerprint(interactions: Interactions) -> str:
    """sha256 of the owned pattern and its ids: the same data gives the same fingerprint."""
    digest = hashlib.sha256()
    for array in (interactions.accounts.to_array(), interactions.products.to_array()):
        digest.update("\x1f".join(array.tolist()).encode())
    digest.update(np.asarray(interactions.indptr, dtype=np.int64).tobytes())
    digest.update(np.asarray(interactions.indices, dtype=np.int64).tobytes())
    digest.update(np.asarray(interactions.orders, dtype=np.float64).tobytes())
    return digest.hexdigest()


def holdings(interactions: Interactions, installed: Sequence[tuple[str, str]]) -> sp.csr_matrix:
    """Accounts x products, 1 where the account bought the product or has it installed
    (installed pairs of accounts or products the model does not know are left out)."""
    bought = interactions.binary.tocsr().astype(np.float32)
    if not installed:
        return bought
    pairs = np.asarray(installed, dtype=object).reshape(-1, 2)
    rows = interactions.accounts.indices(pairs[:, 0])
    cols = interactions.products.indices(pairs[:, 1])
    known = (rows >= 0) & (cols >= 0)
    extra = sp.csr_matrix(
        (np.ones(int(known.sum()), dtype=np.float32), (rows[known], cols[known])), shape=bought.shape
    )
    held = (bought + extra).tocsr()
    held.data[:] = 1.0
    held.sort_indices()
    return held


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("crossgraph", "implicit", "numpy", "scipy", "neo4j", "faiss-cpu"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def write_artifact(
    folder: Path,
    *,
    version: str,
    model: HybridRecommender,
    interactions: Interactions,
    accounts: list[dict[str, Any]],
    products: list[dict[str, Any]],
    metrics: dict[str, Any],
    similar_k: int = 20,
    top_n: int = 50,
    extra: dict[str, Any] | None = None,
    installed: Sequence[tuple[str, str]] = (),
    peer_search: PeerSearch = PeerSearch(),
) -> dict[str, Any]:
    """Write every file of the artifact into `folder` (the registry's staging directory).

    What an account owns (owned.npz: never offered, and what peer evidence counts) is what it
    bought plus the `installed` (account id, sku) pairs of its installed base; the model itself
    is fitted on purchases only. Similar accounts come from a PeerIndex built with `peer_search`."""
    n = interactions.shape[0]
    every = np.arange(n)
    owned = holdings(interactions, installed)
    peers, peer_scores, peers_manifest = similar_accounts(folder, model.user_factors, similar_k, peer_search)
    model.keep_statistics()  # the ranking's standardisation, reused to split its scores (drivers)
    items, item_scores = model.recommend(every, k=top_n, exclude_owned=True, held=owned)
    np.save(folder / "account_ids.npy", interactions.accounts.to_array())
    np.save(folder / "product_ids.npy", interactions.products.to_array())
    np.save(folder / "account_factors.npy", np.ascontiguousarray(model.user_factors, dtype=np.float32))
    np.save(folder / "product_factors.npy", np.ascontiguousarray(model.item_factors, dtype=np.float32))
    sp.save_npz(folder / "owned.npz", owned)
    confidence = (model.als.user_items * np.float32(model.params.als.alpha)).tocsr().astype(np.float32)
    sp.save_npz(folder / "als_confidence.npz", confidence)
    np.save(folder / "similar_accounts.npy", peers.astype(np.int32))
    np.save(folder / "similar_scores.npy", peer_scores.astype(np.float32))
    np.save(folder / "recommended.npy", items.astype(np.int32))
    np.save(folder / "recommended_scores.npy", item_scores.astype(np.float32))
    explainer = ALSExplainer(model.item_factors, confidence, model.params.als.regularization)
    stored = stored_evidence(owned, peers, items, model, explainer)
    for name, array in stored.items():
        np.save(folder / f"{name}.npy", array)
    _write_json(folder / "accounts.json", {str(a["id"]): a for a in accounts})
    _write_json(folder / "products.json", {str(p["sku"]): p for p in products})
    manifest = {
        "format": ARTIFACT_FORMAT,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": model.params.describe(),
        "components": model.params.weighted,
        "params": model.params.to_dict(),
        "data": {
            "fingerprint": fingerprint(interactions),
            "accounts": n,
            "products": int(interactions.shape[1]),
            "pairs": int(interactions.nnz),
            "installed_only_pairs": int(owned.nnz - interactions.nnz),
        },
        "similar_k": similar_k,
        "peers": peers_manifest,
        "top_n": top_n,
        "metrics": metrics,
        "libraries": library_versions(),
        **(extra or {}),
    }
    _write_json(folder / "manifest.json", manifest)  # last: its presence marks a complete artifact
    return manifest


def similar_accounts(
    folder: Path, factors: npt.NDArray[np.float32], k: int, config: PeerSearch
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32], dict[str, Any]]:
    """Every account's top-k peers from a PeerIndex (saved into `folder` when it is HNSW, its
    efSearch calibrated to config.recall_target first), and what the manifest records: method,
    parameters, the efSearch chosen, recall against exact search and its lower bound, seconds."""
    started = time.perf_counter()
    index = PeerIndex.build(factors, config)
    built = time.perf_counter()
    calibration = index.calibrate(k, config)
    calibrated = time.perf_counter()
    peers, scores = index.search_accounts(np.arange(index.n_accounts), k)
    searched = time.perf_counter()
    record: dict[str, Any] = {"method": index.method, "params": config.to_dict()}
    if calibration is None:  # exact: every peer is the exact one
        record |= {f"recall@{k}": 1.0, "recall_sample": 0, "recall_target": config.recall_target}
        record["target_met"] = True
    else:
        # the stored peers of the sampled accounts against their exact ones: what calibration
        # measured at the efSearch it chose, now on what the artifact holds
        recall, lower = recall_bound(account_recalls(peers[calibration.rows], calibration.truth))
        record |= {
            "ef_search": calibration.ef_search,
            f"recall@{k}": round(recall, 4),
            "recall_lower_bound": round(lower, 4),
            "recall_sample": calibration.sample,
            "recall_target": config.recall_target,
            "target_met": calibration.met,
            "ef_search_tried": [list(pair) for pair in calibration.tried],
            "calibrate_seconds": round(calibration.seconds, 2),
        }
        if calibration.warning:
            record["warning"] = calibration.warning
    record |= {
        "build_seconds": round(built - started, 2),
        "search_seconds": round(searched - calibrated, 2),
        **index.save(folder),
    }
    return peers, scores, record


@dataclass(frozen=True)
class Artifact:
    """A loaded artifact, read-only; the large arrays are memory-mapped."""

    path: Path
    manifest: dict[str, Any]
    accounts: IdMap
    products: IdMap
    account_factors: npt.NDArray[np.float32]
    product_factors: npt.NDArray[np.float32]
    owned: sp.csr_matrix
    als_confidence: sp.csr_matrix
    similar_accounts: npt.NDArray[np.int32]
    similar_scores: npt.NDArray[np.float32]
    recommended: npt.NDArray[np.int32]
    recommended_scores: npt.NDArray[np.float32]
    evidence_counts: npt.NDArray[np.uint8]
    evidence_peers: npt.NDArray[np.uint8]
    driver_items: npt.NDArray[np.int32]
    driver_scores: npt.NDArray[np.float32]
    component_shares: npt.NDArray[np.uint8]
    account_info: dict[str, dict[str, Any]]
    product_info: dict[str, dict[str, Any]]
    peer_index: PeerIndex

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @classmethod
    def load(cls, path: Path) -> Artifact:
        """Read the artifact in `path`; InvalidArtifact names the file that cannot be read or
        whose shape disagrees with the rest, so a damaged version fails here, not per request."""
        manifest = _read(path / "manifest.json", lambda f: json.loads(f.read_text(encoding="utf-8")))
        if manifest.get("format") not in FORMATS_READ:
            raise InvalidArtifact(
                f"{path / 'manifest.json'}: artifact format {manifest.get('format')!r}, "
                f"expected {ARTIFACT_FORMAT}"
            )

        def array(name: str, mmap: bool = True) -> Any:
            return _read(
                path / f"{name}.npy",
                lambda f: np.load(f, mmap_mode="r" if mmap else None, allow_pickle=False),
            )

        def matrix(name: str) -> sp.csr_matrix:
            return _read(path / f"{name}.npz", lambda f: sp.load_npz(f).tocsr())

        def info(name: str) -> dict[str, dict[str, Any]]:
            return _read(path / f"{name}.json", lambda f: json.loads(f.read_text(encoding="utf-8")))

        account_factors = array("account_factors")
        if getattr(account_factors, "ndim", 0) != 2:
            raise InvalidArtifact(
                f"{path / 'account_factors.npy'}: {account_factors.ndim} dimensions, "
                "expected 2 (accounts x factors)"
            )
        artifact = cls(
            path=path,
            manifest=manifest,
            accounts=IdMap.from_array(array("account_ids", mmap=False)),
            products=IdMap.from_array(array("product_ids", mmap=False)),
            account_factors=account_factors,
            product_factors=array("product_factors"),
            owned=matrix("owned"),
            als_confidence=matrix("als_confidence"),
            similar_accounts=array("similar_accounts"),
            similar_scores=array("similar_scores"),
            recommended=array("recommended"),
            recommended_scores=array("recommended_scores"),
            evidence_counts=array("evidence_counts"),
            evidence_peers=array("evidence_peers"),
            driver_items=array("driver_items"),
            driver_scores=array("driver_scores"),
            component_shares=array("component_shares")
            if manifest["format"] >= 4
            else np.zeros((*array("recommended").shape, 0), dtype=np.uint8),  # 3: no shares stored
            account_info=info("accounts"),
            product_info=info("products"),
            peer_index=PeerIndex.load(path, account_factors, manifest),
        )
        check_shapes(artifact)
        return artifact


def check_shapes(artifact: Artifact) -> None:
    """Every array agrees with the id lists (A accounts, P products) and with its partners:

    account_factors (A, F) · product_factors (P, F) · owned, als_confidence (A, P)
    similar_accounts, similar_scores (A, K), peers in [-1, A)
    recommended, recommended_scores, evidence_counts (A, N), products in [-1, P)
    evidence_peers (A, N, T), positions in [0, K) or NONE_PEER
    driver_items, driver_scores (A, N, D), products in [-1, P)
    component_shares (A, N, C), C = len(manifest "components")
    """
    a = artifact
    n_accounts, n_products = len(a.accounts), len(a.products)
    n_factors = a.account_factors.shape[1] if a.account_factors.ndim == 2 else -1
    peers, top_n = a.similar_accounts.shape[-1], a.recommended.shape[-1]
    drivers = a.driver_items.shape[-1]
    expected: list[tuple[str, tuple[int, ...], tuple[int, ...], str]] = [
        ("account_factors.npy", a.account_factors.shape, (n_accounts, n_factors), "account_ids.npy"),
        ("product_factors.npy", a.product_factors.shape, (n_products, n_factors), "account_factors.npy"),
        ("owned.npz", a.owned.shape, (n_accounts, n_products), "the id lists"),
        ("als_confidence.npz", a.als_confidence.shape, (n_accounts, n_products), "the id lists"),
        ("similar_accounts.npy", a.similar_accounts.shape, (n_accounts, peers), "account_ids.npy"),
        ("similar_scores.npy", a.similar_scores.shape, (n_accounts, peers), "similar_accounts.npy"),
        ("recommended.npy", a.recommended.shape, (n_accounts, top_n), "account_ids.npy"),
        ("recommended_scores.npy", a.recommended_scores.shape, (n_accounts, top_n), "recommended.npy"),
        ("evidence_counts.npy", a.evidence_counts.shape, (n_accounts, top_n), "recommended.npy"),
        (
            "evidence_peers.npy",
            a.evidence_peers.shape,
            (n_accounts, top_n, a.evidence_peers.shape[-1]),
            "recommended.npy",
        ),
        ("driver_items.npy", a.driver_items.shape, (n_accounts, top_n, drivers), "recommended.npy"),
        ("driver_scores.npy", a.driver_scores.shape, (n_accounts, top_n, drivers), "driver_items.npy"),
        (
            "component_shares.npy",
            a.component_shares.shape,
            (n_accounts, top_n, len(a.manifest.get("components", []))),
            "recommended.npy and manifest.json's components",
        ),
    ]
    for name, shape, want, against in expected:
        if tuple(shape) != want:
            raise InvalidArtifact(
                f"{a.path / name}: shape {tuple(shape)}, expected {want} to agree with {against} "
                f"({n_accounts} accounts, {n_products} products)"
            )
    for name, values, bound in (
        ("similar_accounts.npy", a.similar_accounts, n_accounts),
        ("recommended.npy", a.recommended, n_products),
        ("driver_items.npy", a.driver_items, n_products),
    ):
        if values.size and (int(values.min()) < -1 or int(values.max()) >= bound):
            raise InvalidArtifact(
                f"{a.path / name}: indices from {int(values.min())} to {int(values.max())}, "
                f"expected -1 (none) to {bound - 1}"
            )
    shown = np.asarray(a.evidence_peers)
    shown = shown[shown != NONE_PEER]
    if shown.size and int(shown.max()) >= peers:
        raise InvalidArtifact(
            f"{a.path / 'evidence_peers.npy'}: peer position {int(shown.max())}, expected "
            f"{NONE_PEER} (none) or below {peers} (the columns of similar_accounts.npy)"
        )
    data = a.manifest.get("data", {})
    for key, count in (("accounts", n_accounts), ("products", n_products)):
        if key in data and data[key] != count:
            raise InvalidArtifact(
                f"{a.path / 'manifest.json'}: data.{key} is {data[key]}, but {key[:-1]}_ids.npy holds {count}"
            )


def _read(path: Path, read: Callable[[Path], T]) -> T:
    try:
        return read(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InvalidArtifact(f"{path}: cannot be read ({exc})") from exc


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
