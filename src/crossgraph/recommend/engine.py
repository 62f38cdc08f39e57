"""Ranked suggestions, peers and evidence for one account, answered from a loaded artifact.

Everything here is in memory and allocation-light, because a CRM sidebar asks on every
account page: the served ranking is the artifact's precomputed top-N of the blended model,
filtered per request, and its peer evidence and drivers were computed at training time
(crossgraph.model.evidence): drivers split the served blend's score over the products the
account owns, and the reason names the components that scored it with their share ("scored by
EASE 60 %, ALS 40 %"). Products outside the stored list are scored by ALS alone, so their
numbers are computed live from ALS: peer evidence from the account's nearest peers and their
rows of the owned matrix, drivers by splitting the ALS score.

When a filter (category, kind, excludes) leaves fewer candidates than asked for, the list is
extended by the ALS score alone (`source="als"`), ranked after every blended-model item.
Accounts newer than the model get segment popularity (`Engine.fallback`), labelled as such.
Accounts that changed since the fit (a purchase, a won deal, a new account) are answered from
their refolded ALS factor (`Engine.recommend_folded`, recommend.overlay) until the next run.

The score a rep sees is one 0-100 scale for an account x product, whatever the endpoint:

    score = 100 x (n - 1 - place) / (n - 1)

where `n` is the number of products the account could still buy (active, not owned) and
`place` (0 = first) is the product's place in the account's whole ranking: the stored list of
the blended model, then the other products by ALS score (for accounts newer than the model:
by segment popularity). 100 = the model's first choice, 0 = its last. The raw scores behind
it (blended z-scores, ALS dot products, shares) are on different scales per source, so they
stay in `model_score` only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import numpy as np
import numpy.typing as npt

from crossgraph.model.artifact import Artifact
from crossgraph.model.evidence import NONE_PEER, peers_owning
from crossgraph.model.explain import ALSExplainer
from crossgraph.model.foldin import FoldIn
from crossgraph.model.hybrid import COMPONENT_LABELS
from crossgraph.money import cents
from crossgraph.recommend.overlay import FoldedAccount, Overlay

Source = Literal["model", "als", "segment_popularity"]
MIN_SEGMENT = 5  # fewer accounts than this in an industry: use the country, then everyone


@dataclass(frozen=True)
class Filters:
    categories: frozenset[str] = frozenset()  # empty = any
    kinds: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()  # skus

    @classmethod
    def of(
        cls,
        categories: Iterable[str] = (),
        kinds: Iterable[str] = (),
        exclude: Iterable[str] = (),
    ) -> Filters:
        return cls(frozenset(categories), frozenset(kinds), frozenset(exclude))


@dataclass(frozen=True)
class Peer:
    index: int
    id: str
    name: str
    similarity: float


# Results are plain dicts shaped like the API's JSON (crossgraph.api.schemas documents and
# tests validate them): a sidebar call builds each object once and serialises it directly.
class PeerDict(TypedDict):
    id: str
    name: str
    similarity: float


class DriverDict(TypedDict):
    sku: str
    name: str
    contribution: float


class EvidenceDict(TypedDict):
    peers_considered: int  # the account's K closest peers
    peers_owning: int  # how many of them own the product
    top_peers: list[PeerDict]  # the closest peers that own it, closest first


class Suggestion(TypedDict):
    """One cross-sell item, already in the shape of a next-best action (recommend.actions)."""

    sku: str
    name: str
    category: str | None
    product_kind: str | None  # machine, part, consumable, service, ...
    kind: Literal["cross_sell"]  # the opportunity kind (upsell and renewal come from the graph)
    signal: Source
    rank: int
    score: float  # 0-100, see fit_score
    model_score: float  # the raw score of `source`
    source: Source
    reason: str
    evidence: EvidenceDict
    facts: None
    drivers: list[DriverDict]
    likelihood: float  # share of the closest peers owning it, at least the floor
    value: float  # list price
    boost: float
    expected_value: float
    event_ids: list[str]  # recent trigger events behind the boost (the list carries their text)
    related_skus: list[str]


CROSS_SELL_FLOOR = 0.05  # likelihood of a product none of the closest peers own yet


def fit_score(place: int, candidates: int) -> float:
    """The 0-100 score of the product at `place` (0 = first) among `candidates` products."""
    if place < 0:
        raise ValueError(f"place must be >= 0, got {place}")
    if candidates <= 1:
        return 100.0
    return round(100.0 * (candidates - 1 - place) / (candidates - 1), 1) + 0.0


@dataclass(frozen=True)
class SimilarAccount:
    peer: Peer
    industry: str | None
    country: str | None
    shared_products: int
    lacking: list[int]  # product indices the peer owns and the account does not, best first


class Engine:
    """Read-only view of one artifact for serving; safe to share between threads."""

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact
        self.version = artifact.version
        self.account_ids = artifact.accounts.to_array().tolist()
        self.skus = artifact.products.to_array().tolist()
        self.account_index = {a: i for i, a in enumerate(self.account_ids)}
        self.product_index = {s: i for i, s in enumerate(self.skus)}
        info = [artifact.product_info.get(s, {}) for s in self.skus]
        self.product_names = [str(p.get("name") or s) for p, s in zip(info, self.skus, strict=True)]
        self.categories = [p.get("category") for p in info]
        self.kinds = [p.get("kind") for p in info]
        # Filter values as a request may spell them (any case) -> the catalogue's spelling(s)
        self.category_lookup = _lookup(self.categories)
        self.kind_lookup = _lookup(self.kinds)
        self.active = np.array([p.get("active", True) is not False for p in info], dtype=bool)
        self.list_prices = [cents(p.get("list_price") or 0.0) for p in info]
        self.cross_sell_floor = CROSS_SELL_FLOOR
        accounts = [artifact.account_info.get(a, {}) for a in self.account_ids]
        self.account_names = [
            str(a.get("name") or i) for a, i in zip(accounts, self.account_ids, strict=True)
        ]
        self.industries = [a.get("industry") for a in accounts]
        self.countries = [a.get("country") for a in accounts]
        self.owned = artifact.owned
        self.owned_count = np.diff(self.owned.indptr)
        # Products each account could still buy: active ones it does not own (fit_score's n)
        owned_active = np.bincount(
            np.repeat(np.arange(self.owned.shape[0]), self.owned_count),
            weights=self.active[self.owned.indices],
            minlength=self.owned.shape[0],
        )
        self.candidates = (int(self.active.sum()) - owned_active).astype(np.int64)
        self.popularity = np.bincount(self.owned.indices, minlength=len(self.skus)).astype(np.int64)
        self.similar = np.asarray(artifact.similar_accounts)
        self.similar_scores = np.asarray(artifact.similar_scores)
        self.recommended = np.asarray(artifact.recommended)
        self.recommended_scores = np.asarray(artifact.recommended_scores)
        self.evidence_counts = np.asarray(artifact.evidence_counts)
        self.evidence_peers = np.asarray(artifact.evidence_peers)
        self.driver_items = np.asarray(artifact.driver_items)
        self.driver_scores = np.asarray(artifact.driver_scores)
        self.component_shares = np.asarray(artifact.component_shares)
        self.components = [str(c) for c in artifact.manifest.get("components", [])]
        self.account_factors = artifact.account_factors
        self.product_factors = artifact.product_factors
        self.explainer = ALSExplainer(
            artifact.product_factors,
            artifact.als_confidence,
            float(artifact.manifest["params"]["als"]["regularization"]),
        )
        self._segments = _segment_tables(self.owned, self.industries, self.countries)
        self.fold_in = FoldIn.of_manifest(artifact.product_factors, artifact.manifest)
        # Replaced whole (one assignment) as changes arrive; starts after the fit's export.
        self.overlay = Overlay(seq=int(artifact.manifest.get("changes_until") or 0))

    # -- lookups -------------------------------------------------------------------------
    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)

    @property
    def peers_k(self) -> int:
        return int(self.similar.shape[1])

    def owned_indices(self, account: int) -> npt.NDArray[np.int32]:
        indices: npt.NDArray[np.int32] = self.owned.indices[
            self.owned.indptr[account] : self.owned.indptr[account + 1]
        ]
        return indices

    def product_dict(self, index: int) -> dict[str, Any]:
        return {
            "sku": self.skus[index],
            "name": self.product_names[index],
            "category": self.categories[index],
            "kind": self.kinds[index],
        }

    def peers(self, account: int, limit: int | None = None) -> list[Peer]:
        row = self.similar[account]
        out = [
            Peer(int(p), self.account_ids[p], self.account_names[p], float(s))
            for p, s in zip(row, self.similar_scores[account], strict=True)
            if p >= 0
        ]
        return out[:limit] if limit is not None else out

    # -- recommendations -----------------------------------------------------------------
    def recommend(
        self, account: int, limit: int = 10, filters: Filters = Filters(), drivers: int = 3
    ) -> list[Suggestion]:
        candidates = self.recommended[account]
        valid = (candidates >= 0) & self.active[candidates.clip(0)]
        keep = valid & self._eligible(candidates.clip(0), filters)
        positions = np.flatnonzero(keep)[:limit]
        places = (np.cumsum(valid) - 1)[positions]
        out = self._stored(account, positions, places, drivers)
        if len(out) < limit:
            extra, extra_scores, extra_places = self._als_extension(
                account, limit - len(out), filters, candidates[valid]
            )
            out += self._suggestions(
                account, extra, extra_scores, extra_places, ["als"] * len(extra), drivers, len(out) + 1
            )
        return out

    def places(self, account: int) -> npt.NDArray[np.int64]:
        """Each product's place (0 = first) in the account's whole ranking: the stored list, then
        the other products it could buy by ALS score; -1 for owned and inactive products."""
        row = self.recommended[account]
        stored = row[(row >= 0) & self.active[row.clip(0)]]
        out = np.full(len(self.skus), -1, dtype=np.int64)
        out[stored] = np.arange(len(stored))
        tail = self._tail(account, stored, np.asarray(self.product_factors @ self.account_factors[account]))
        out[tail] = len(stored) + np.arange(len(tail))
        return out

    def fit_scores(self, account: int) -> dict[int, float]:
        """Product index -> 0-100 score, for every product the account could buy."""
        places = self.places(account)
        n = int(self.candidates[account])
        return {int(i): fit_score(int(places[i]), n) for i in np.flatnonzero(places >= 0)}

    def _tail(
        self, account: int, stored: npt.NDArray[np.integer[Any]], scores: npt.NDArray[np.floating[Any]]
    ) -> npt.NDArray[np.intp]:
        """The products the account could buy outside its stored list, best ALS score first."""
        base = self.active.copy()
        base[self.owned_indices(account)] = False
        base[np.asarray(stored, dtype=np.intp)] = False
        rest = np.flatnonzero(base)
        ranked: npt.NDArray[np.intp] = rest[np.argsort(-scores[rest], kind="stable")]
        return ranked

    def _stored(
        self,
        account: int,
        positions: npt.NDArray[np.intp],
        places: npt.NDArray[np.integer[Any]],
        n_drivers: int,
    ) -> list[Suggestion]:
        """Suggestions from the stored list: evidence and drivers were computed at training time
        (crossgraph.model.evidence), with the same functions the live path uses."""
        n = int(self.candidates[account])
        fits = [fit_score(p, n) for p in places.tolist()]
        items = self.recommended[account][positions].tolist()
        scores = self.recommended_scores[account][positions].tolist()
        counts = self.evidence_counts[account][positions].tolist()
        shown = self.evidence_peers[account][positions].tolist()
        driver_items = self.driver_items[account][positions, :n_drivers].tolist()
        driver_scores = self.driver_scores[account][positions, :n_drivers].tolist()
        shares = self.component_shares[account][positions].tolist()
        peers = self.similar[account].tolist()
        similarity = self.similar_scores[account].tolist()
        considered = sum(1 for p in peers if p >= 0)
        # A peer bought something since the fit: count from what the peers own now
        touched = self.overlay.touches(self.similar[account])
        live = self.peer_evidence(account, np.asarray(items)) if touched else None
        out: list[Suggestion] = []
        for k, item in enumerate(items):
            top: list[PeerDict] = [
                {
                    "id": self.account_ids[peers[h]],
                    "name": self.account_names[peers[h]],
                    "similarity": similarity[h],
                }
                for h in shown[k]
                if h != NONE_PEER
            ]
            ev: EvidenceDict = (
                live[k]
                if live is not None
                else {"peers_considered": considered, "peers_owning": counts[k], "top_peers": top}
            )
            found: list[DriverDict] = [
                {"sku": self.skus[j], "name": self.product_names[j], "contribution": c}
                for j, c in zip(driver_items[k], driver_scores[k], strict=True)
                if j >= 0
            ]
            reason = model_reason(self.product_names[item], ev, found, self.scored_by(shares[k]))
            out.append(self._suggestion(item, k + 1, fits[k], scores[k], "model", reason, ev, found))
        return out

    def _eligible(self, items: npt.NDArray[np.integer[Any]], filters: Filters) -> npt.NDArray[np.bool_]:
        ok: npt.NDArray[np.bool_] = self.active[items]
        if filters.categories or filters.kinds or filters.exclude:
            for n, i in enumerate(items):
                if ok[n] and not self.passes(int(i), filters):
                    ok[n] = False
        return ok

    def passes(self, item: int, filters: Filters) -> bool:
        """Whether product `item` passes the category, product-kind and exclude filters."""
        return (
            (not filters.categories or self.categories[item] in filters.categories)
            and (not filters.kinds or self.kinds[item] in filters.kinds)
            and self.skus[item] not in filters.exclude
        )

    def _als_extension(
        self, account: int, n: int, filters: Filters, stored: npt.NDArray[np.integer[Any]]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32], npt.NDArray[np.intp]]:
        """The next `n` products by ALS score after the stored list, with their places in the
        account's whole ranking. Every stored product passing the filters is already listed."""
        scores = np.asarray(self.product_factors @ self.account_factors[account], dtype=np.float32)
        ranked = self._tail(account, stored, scores)
        if filters.categories or filters.kinds or filters.exclude:
            at = np.flatnonzero([self.passes(int(i), filters) for i in ranked])[:n]
        else:
            at = np.arange(min(n, len(ranked)))
        order = ranked[at]
        return order, scores[order], (len(stored) + at).astype(np.intp)

    def _suggestions(
        self,
        account: int,
        items: npt.NDArray[np.integer[Any]],
        scores: npt.NDArray[np.floating[Any]],
        places: npt.NDArray[np.integer[Any]],
        sources: list[Source],
        n_drivers: int,
        first_rank: int = 1,
    ) -> list[Suggestion]:
        """Suggestions with evidence and drivers computed now (products outside the stored list)."""
        evidence = self.peer_evidence(account, items)
        drivers = self.drivers(account, items, n_drivers) if n_drivers else [[] for _ in items]
        n = int(self.candidates[account])
        out: list[Suggestion] = []
        for rank, (item, score, place, source, ev, found) in enumerate(
            zip(items.tolist(), scores.tolist(), places.tolist(), sources, evidence, drivers, strict=True),
            start=first_rank,
        ):
            reason = model_reason(self.product_names[item], ev, found, "ALS")
            out.append(self._suggestion(item, rank, fit_score(place, n), score, source, reason, ev, found))
        return out

    def _suggestion(
        self,
        item: int,
        rank: int,
        fit: float,
        score: float,
        source: Source,
        reason: str,
        evidence: EvidenceDict,
        drivers: list[DriverDict],
    ) -> Suggestion:
        share = owning_share(evidence)
        if source == "segment_popularity":
            share = score  # the share of the account's segment owning it
        likelihood = max(share, self.cross_sell_floor)
        value = self.list_prices[item]
        return {
            "sku": self.skus[item],
            "name": self.product_names[item],
            "category": self.categories[item],
            "product_kind": self.kinds[item],
            "kind": "cross_sell",
            "signal": source,
            "rank": rank,
            "score": fit,
            "model_score": score,
            "source": source,
            "reason": reason,
            "evidence": evidence,
            "facts": None,
            "drivers": drivers,
            "likelihood": likelihood,
            "value": value,
            "boost": 1.0,
            "expected_value": cents(likelihood * value),
            "event_ids": [],
            "related_skus": [],
        }

    def scored_by(self, shares: list[int]) -> str:
        """'EASE 60 %, ALS 40 %': the components of a stored item's score, largest share first."""
        named = sorted(zip(shares, self.components, strict=True), key=lambda p: -p[0])
        return ", ".join(f"{COMPONENT_LABELS.get(c, c)} {pct} %" for pct, c in named if pct > 0)

    def explained(self, account: int, item: int, n: int = 3) -> tuple[list[DriverDict], str]:
        """(drivers, scored by) of the score `score_of` gives: the stored split of the served blend
        (at most N_DRIVERS drivers) for a product in the stored list, else the live ALS split."""
        where = np.flatnonzero(self.recommended[account] == item)
        if not len(where):
            return self.drivers(account, [item], n)[0], "ALS"
        k = int(where[0])
        found: list[DriverDict] = [
            {"sku": self.skus[j], "name": self.product_names[j], "contribution": c}
            for j, c in zip(
                self.driver_items[account][k, :n].tolist(),
                self.driver_scores[account][k, :n].tolist(),
                strict=True,
            )
            if j >= 0
        ]
        return found, self.scored_by(self.component_shares[account][k].tolist())

    def drivers(self, account: int, items: npt.ArrayLike, n: int = 3) -> list[list[DriverDict]]:
        """Per item, the owned products contributing most to its ALS score (largest first): the
        drivers of products outside the stored list, which ALS alone scores."""
        return [
            [{"sku": self.skus[j], "name": self.product_names[j], "contribution": c} for j, c in found]
            for found in self.explainer.drivers(account, items, n)
        ]

    def cross_sell_likelihood(self, account_id: str, sku: str) -> float | None:
        """The likelihood a cross-sell item of this account and product shows before calibration:
        the share of the account's closest peers owning it (refolded peers for an account changed
        since the fit), at least the floor. None when the model knows the account or product not."""
        item = self.product_index.get(sku)
        folded = self.overlay.folded.get(account_id)
        account = self.account_index.get(account_id)
        if item is None or (folded is None and account is None):
            return None
        if folded is not None:
            peers, scores = folded.peers, folded.peer_scores
        else:
            assert account is not None
            peers, scores = self.similar[account], self.similar_scores[account]
        evidence = self.evidence_of(peers, scores, np.array([item]), top=0)[0]
        return max(owning_share(evidence), self.cross_sell_floor)

    def peer_evidence(
        self, account: int, items: npt.NDArray[np.integer[Any]], top: int = 3
    ) -> list[EvidenceDict]:
        """For each item: how many of the account's K closest peers own it, and the closest few."""
        return self.evidence_of(self.similar[account], self.similar_scores[account], items, top)

    def evidence_of(
        self,
        peers: npt.NDArray[np.integer[Any]],
        similarity: npt.NDArray[np.floating[Any]],
        items: npt.NDArray[np.integer[Any]],
        top: int = 3,
    ) -> list[EvidenceDict]:
        """`peer_evidence` for a given list of peers (-1 = none), closest first."""
        keep = peers >= 0
        peers, similarity = peers[keep], similarity[keep]
        items = np.asarray(items, dtype=np.intp)
        # (item, peer) pairs of ownership, grouped by item, peers closest first within a group
        by_item, by_peer = np.nonzero(self.peers_owning(peers, items).T)
        counts = np.bincount(by_item, minlength=len(items)).tolist()
        first = (np.arange(len(by_item)) - np.searchsorted(by_item, by_item)) < top
        shown: list[list[PeerDict]] = [[] for _ in range(len(items))]
        for k, p, sim in zip(
            by_item[first].tolist(),
            peers[by_peer[first]].tolist(),
            similarity[by_peer[first]].tolist(),
            strict=True,
        ):
            shown[k].append({"id": self.account_ids[p], "name": self.account_names[p], "similarity": sim})
        n = len(peers)
        return [
            {"peers_considered": n, "peers_owning": c, "top_peers": t}
            for c, t in zip(counts, shown, strict=True)
        ]

    def peers_owning(
        self, peers: npt.NDArray[np.integer[Any]], items: npt.NDArray[np.integer[Any]]
    ) -> npt.NDArray[np.bool_]:
        """Boolean [len(peers), len(items)]: peer p owns item i (at fit time, or since: overlay)."""
        peers = np.asarray(peers, dtype=np.intp)
        items = np.asarray(items, dtype=np.intp)
        out = peers_owning(self.owned, peers, items, len(self.skus))
        extra = self.overlay.extra_owned
        if extra:
            for row, peer in enumerate(peers.tolist()):
                for col, item in enumerate(items.tolist()):
                    if item in extra.get(peer, ()):
                        out[row, col] = True
        return out

    def score_of(self, account: int, item: int) -> tuple[float, int | None, Source]:
        """The account's raw score for one product (the stored list's, else the ALS score), its
        rank in the served list and the score's source."""
        row = self.recommended[account]
        where = np.flatnonzero(row == item)
        if len(where):
            return float(self.recommended_scores[account][where[0]]), int(where[0]) + 1, "model"
        return float(self.account_factors[account] @ self.product_factors[item]), None, "als"

    # -- peers ---------------------------------------------------------------------------
    def similar_accounts(self, account: int, limit: int = 10, lacking: int = 5) -> list[SimilarAccount]:
        mine = self.owned_indices(account)
        mine_set = np.zeros(len(self.skus), dtype=bool)
        mine_set[mine] = True
        places = self.places(account)
        out = []
        for peer in self.peers(account, limit):
            theirs = self.owned_indices(peer.index)
            missing = theirs[~mine_set[theirs] & self.active[theirs]]
            order = np.argsort(places[missing], kind="stable")  # best first: the account's own ranking
            out.append(
                SimilarAccount(
                    peer=peer,
                    industry=self.industries[peer.index],
                    country=self.countries[peer.index],
                    shared_products=int(mine_set[theirs].sum()),
                    lacking=[int(i) for i in missing[order][:lacking]],
                )
            )
        return out

    # -- accounts changed since the fit (recommend.overlay) ------------------------------
    def nearest_accounts(
        self, vector: npt.NDArray[np.float32], k: int, exclude: int | None = None
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """The model's k accounts with the factors most similar (cosine) to `vector`, closest
        first (ties to the lower index), searched in the index training's similar accounts came
        from (model.peers: exact, or the artifact's HNSW graph above its size threshold)."""
        if k < 1:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        skip = [-1 if exclude is None else exclude]
        found, sims = self.artifact.peer_index.search(np.asarray(vector, dtype=np.float32), k, exclude=skip)
        keep = found[0] >= 0
        return found[0][keep], sims[0][keep]

    def folded_peers(self, folded: FoldedAccount, limit: int | None = None) -> list[Peer]:
        out = [
            Peer(int(p), self.account_ids[p], self.account_names[p], float(s))
            for p, s in zip(folded.peers.tolist(), folded.peer_scores.tolist(), strict=True)
        ]
        return out[:limit] if limit is not None else out

    def _folded_ranking(self, folded: FoldedAccount) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """The products the account could buy now, best folded ALS score first, and the scores."""
        scores = np.asarray(self.product_factors @ folded.vector, dtype=np.float32)
        open_ = self.active.copy()
        open_[folded.owned] = False
        rest = np.flatnonzero(open_)
        ranked: npt.NDArray[np.intp] = rest[np.argsort(-scores[rest], kind="stable")]
        return ranked, scores

    def recommend_folded(
        self, folded: FoldedAccount, limit: int = 10, filters: Filters = Filters(), drivers: int = 3
    ) -> list[Suggestion]:
        """Suggestions for an account changed since the fit: its folded ALS ranking, evidence
        from its nearest peers (what they own now), drivers from its current row."""
        ranked, scores = self._folded_ranking(folded)
        if filters.categories or filters.kinds or filters.exclude:
            at = np.flatnonzero([self.passes(int(i), filters) for i in ranked])[:limit]
        else:
            at = np.arange(min(limit, len(ranked)))
        items = ranked[at]
        evidence = self.evidence_of(folded.peers, folded.peer_scores, items)
        found: list[list[DriverDict]] = [[] for _ in items]
        if drivers:
            explainer = self.explainer.for_rows(folded.confidence)
            found = [
                [{"sku": self.skus[j], "name": self.product_names[j], "contribution": c} for j, c in row]
                for row in explainer.drivers(0, items, drivers)
            ]
        out: list[Suggestion] = []
        for rank, (item, place, ev, driving) in enumerate(
            zip(items.tolist(), at.tolist(), evidence, found, strict=True), start=1
        ):
            reason = model_reason(self.product_names[item], ev, driving, "ALS")
            fit = fit_score(place, len(ranked))
            out.append(self._suggestion(item, rank, fit, float(scores[item]), "als", reason, ev, driving))
        return out

    def folded_fit_scores(self, folded: FoldedAccount) -> dict[int, float]:
        """Product index -> 0-100 score for an account changed since the fit (folded ranking)."""
        ranked, _ = self._folded_ranking(folded)
        return {int(item): fit_score(place, len(ranked)) for place, item in enumerate(ranked.tolist())}

    # -- accounts the model has not seen -------------------------------------------------
    def fallback(
        self,
        *,
        industry: str | None,
        country: str | None,
        owned_skus: Collection[str],
        limit: int = 10,
        filters: Filters = Filters(),
    ) -> tuple[str, list[Suggestion]]:
        """Segment popularity for an account newer than the model: (segment label, items)."""
        label, share, size = self._segment_for(industry, country)
        ranked = self._fallback_ranking(share, owned_skus)
        out: list[Suggestion] = []
        for place, item in enumerate(ranked.tolist()):
            if len(out) >= limit or share[item] <= 0:
                break
            if not self.passes(item, filters):
                continue
            pct = 100.0 * float(share[item])
            reason = (
                f"New account, not in model {self.version} yet: {pct:.0f}% of {size} "
                f"accounts in {label} own {self.product_names[item]}"
            )
            none: EvidenceDict = {"peers_considered": 0, "peers_owning": 0, "top_peers": []}
            fit = fit_score(place, len(ranked))
            out.append(
                self._suggestion(
                    item, len(out) + 1, fit, float(share[item]), "segment_popularity", reason, none, []
                )
            )
        return label, out

    def fallback_fit_scores(
        self, *, industry: str | None, country: str | None, owned_skus: Collection[str]
    ) -> dict[int, float]:
        """Product index -> 0-100 score for an account newer than the model (segment ranking)."""
        ranked = self._fallback_ranking(self._segment_for(industry, country)[1], owned_skus)
        return {item: fit_score(place, len(ranked)) for place, item in enumerate(ranked.tolist())}

    def _fallback_ranking(
        self, share: npt.NDArray[np.float64], owned_skus: Collection[str]
    ) -> npt.NDArray[np.intp]:
        """Active products the account does not own, most owned in its segment first."""
        open_ = self.active.copy()
        open_[[self.product_index[s] for s in owned_skus if s in self.product_index]] = False
        order = np.argsort(-share, kind="stable")
        ranked: npt.NDArray[np.intp] = order[open_[order]]
        return ranked

    def _segment_for(
        self, industry: str | None, country: str | None
    ) -> tuple[str, npt.NDArray[np.float64], int]:
        for kind, value in (("industry", industry), ("country", country)):
            if value and (kind, value) in self._segments:
                share, size = self._segments[(kind, value)]
                return f"{kind} {value}", share, size
        share, size = self._segments[("all", "")]
        return "all accounts", share, size


def owning_share(evidence: EvidenceDict) -> float:
    """The share of the closest peers considered that own the product (0 without peers)."""
    considered = evidence["peers_considered"]
    return evidence["peers_owning"] / considered if considered else 0.0


def peers_owning_text(owning: int, considered: int) -> str:
    """'1 of your 20 closest peers owns', '7 of your 20 closest peers own'."""
    return f"{owning} of your {considered} closest peers {'owns' if owning == 1 else 'own'}"


def model_reason(name: str, evidence: EvidenceDict, drivers: list[DriverDict], scored_by: str = "") -> str:
    """One line a rep can say out loud, built from the same numbers the response carries; the
    peers are ALS's, the drivers and `scored_by` ('EASE 60 %, ALS 40 %') those of the score."""
    if evidence["peers_considered"] and evidence["peers_owning"]:
        text = f"{peers_owning_text(evidence['peers_owning'], evidence['peers_considered'])} {name}"
    else:
        text = f"Accounts with a purchase profile like yours buy {name}"
    if drivers:
        text += f"; goes with {drivers[0]['name']}, which you own"
    if scored_by:
        text += f"; scored by {scored_by}"
    return text


def _lookup(values: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """casefold(value) -> the distinct spellings of that value, sorted (usually one)."""
    found: dict[str, set[str]] = {}
    for value in values:
        if value:
            found.setdefault(str(value).casefold(), set()).add(str(value))
    return {k: tuple(sorted(v)) for k, v in found.items()}


def _segment_tables(
    owned: Any, industries: list[Any], countries: list[Any]
) -> dict[tuple[str, str], tuple[npt.NDArray[np.float64], int]]:
    """Share of accounts owning each product per industry, per country and overall."""
    n_accounts, n_items = owned.shape
    tables: dict[tuple[str, str], tuple[npt.NDArray[np.float64], int]] = {}
    overall = np.bincount(owned.indices, minlength=n_items) / max(n_accounts, 1)
    tables[("all", "")] = (overall, n_accounts)
    for kind, labels in (("industry", industries), ("country", countries)):
        groups: dict[str, list[int]] = {}
        for i, label in enumerate(labels):
            if label:
                groups.setdefault(str(label), []).append(i)
        for label, members in groups.items():
            if len(members) < MIN_SEGMENT:
                continue
            rows = owned[np.asarray(members)]
            counts = np.bincount(rows.indices, minlength=n_items)
            tables[(kind, label)] = (counts / len(members) + 1e-6 * overall, len(members))
    return tables
