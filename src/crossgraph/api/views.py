"""Engine results -> response models, and the evidence for one account x product."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
from fastapi import Response

from crossgraph.api import schemas
from crossgraph.api.state import GraphLink
from crossgraph.errors import AccountNotFound, GraphUnavailable, ProductNotFound
from crossgraph.graph.live import evidence_facts, find_account, find_product, peer_purchases
from crossgraph.money import cents
from crossgraph.recommend.engine import Engine, Peer
from crossgraph.recommend.nba import account_dict, live_account, opt_str


def peer_ref(peer: Peer) -> schemas.PeerRef:
    return schemas.PeerRef(id=peer.id, name=peer.name, similarity=round(peer.similarity, 4))


def json_response(body: Any) -> Response:
    """Serialise a ready, schema-shaped body directly (orjson): the hot routes skip building
    pydantic objects a second time; tests validate these bodies against the schemas."""
    return Response(orjson.dumps(body), media_type="application/json")


def account_ref(engine: Engine, index: int) -> schemas.AccountRef:
    return schemas.AccountRef(**account_dict(engine, index))


def product_evidence(engine: Engine, graph: GraphLink, account_id: str, sku: str) -> schemas.ProductEvidence:
    """Blocking (asks Neo4j for purchase history): call from a thread."""
    item = engine.product_index.get(sku)
    if item is None:
        return _outside_model(engine, graph, account_id, sku)
    index = engine.account_index.get(account_id)
    product = schemas.Product(**engine.product_dict(item))
    if index is None:
        live = live_account(engine, graph.run, account_id)
        fits = engine.fallback_fit_scores(
            industry=opt_str(live.get("industry")),
            country=opt_str(live.get("country")),
            owned_skus=[str(s) for s in live.get("owned") or []],
        )
        return schemas.ProductEvidence(
            account=schemas.AccountRef(id=account_id, name=opt_str(live.get("name")), in_model=False),
            product=product,
            model_version=engine.version,
            score=fits.get(item),
            model_score=None,
            rank=None,
            account_owns=sku in (live.get("owned") or []),
            peers_considered=0,
            peers_owning=0,
            share_of_all_accounts=_share(engine, item),
            peers=[],
            owned_before=[],
            drivers=[],
            partial=False,
            notes=[
                f"account {account_id} is newer than model {engine.version}: "
                "no peers until the next training run"
            ],
        )
    peers = engine.peers(index)
    owns = engine.peers_owning(np.asarray([p.index for p in peers], dtype=np.intp), np.asarray([item]))[:, 0]
    live_facts = graph.run(lambda g: evidence_facts(g, account_id, [p.id for p in peers], sku))
    purchases: dict[str, dict[str, Any]] = {}
    account_owns = bool(engine.owned[index, item])
    notes = []
    dismissed = None
    if live_facts is None:
        notes.append(
            "Neo4j is unreachable: purchase dates and histories are missing; counts come from the model"
        )
    else:
        purchases = live_facts.purchases
        dismissed = _dismissal(live_facts.last_dismissal, graph.settings.feedback_suppress_days)
        if dismissed is not None:
            notes.append(
                f"dismissed for this account on {dismissed.at.date()}"
                + (f" by {dismissed.by}" if dismissed.by else "")
                + (
                    f"; not suggested until {dismissed.suppressed_until.date()}"
                    if dismissed.suppressed
                    else f"; suppressed until {dismissed.suppressed_until.date()}, suggested again since"
                )
            )
        account_owns = account_owns or sku in live_facts.owned
    buyers = [p for p, o in zip(peers, owns, strict=True) if o or p.id in purchases]
    before = Counter(s for p in buyers for s in purchases.get(p.id, {}).get("bought_before", []))
    mine = set(engine.owned_indices(index).tolist())
    raw, rank, _ = engine.score_of(index, item)
    fit = engine.fit_scores(index).get(item)
    return schemas.ProductEvidence(
        account=account_ref(engine, index),
        product=product,
        model_version=engine.version,
        score=None if account_owns else fit,
        model_score=None if fit is None or account_owns else round(raw, 5),
        rank=rank,
        account_owns=account_owns,
        peers_considered=len(peers),
        peers_owning=len(buyers),
        share_of_all_accounts=_share(engine, item),
        peers=[_peer_purchase(engine, p, purchases.get(p.id)) for p in buyers],
        owned_before=[_prior(engine, s, n, mine) for s, n in before.most_common(10)],
        drivers=[schemas.Driver(**d) for d in engine.explained(index, item, 5)[0]],
        dismissed=dismissed,
        partial=live_facts is None,
        notes=notes,
    )


def _outside_model(engine: Engine, graph: GraphLink, account_id: str, sku: str) -> schemas.ProductEvidence:
    """A catalogue product the model has no column for (nobody had bought it when the model was
    trained): found, with no score, and the peers that bought it since, if any. 404 only when
    the graph lacks the product (or the account) too."""
    index = engine.account_index.get(account_id)
    peers = engine.peers(index) if index is not None else []
    found = graph.run(
        lambda g: (
            find_product(g, sku),
            find_account(g, account_id),
            peer_purchases(g, [p.id for p in peers], sku),
        )
    )
    if found is None:
        raise GraphUnavailable(
            f"product {sku!r} is not in model {engine.version}, and Neo4j is unreachable to look it up; "
            "try again shortly"
        )
    product, current, purchases = found
    if product is None:
        raise ProductNotFound(sku)
    if index is None and current is None:
        raise AccountNotFound(account_id)
    account = (
        account_ref(engine, index)
        if index is not None
        else schemas.AccountRef(id=account_id, name=opt_str((current or {}).get("name")), in_model=False)
    )
    buyers = [p for p in peers if p.id in purchases]
    return schemas.ProductEvidence(
        account=account,
        product=schemas.Product(**product),
        model_version=engine.version,
        score=None,
        model_score=None,
        rank=None,
        account_owns=sku in ((current or {}).get("owned") or []),
        peers_considered=len(peers),
        peers_owning=len(buyers),
        share_of_all_accounts=0.0,
        peers=[_peer_purchase(engine, p, purchases[p.id]) for p in buyers],
        owned_before=[],
        drivers=[],
        partial=False,
        notes=[
            f"no account had bought {sku} when model {engine.version} was trained: it has no score "
            "and no drivers until a training run sees a purchase of it"
        ],
    )


def _share(engine: Engine, item: int) -> float:
    return round(float(engine.popularity[item]) / max(engine.n_accounts, 1), 4)


def _peer_purchase(engine: Engine, peer: Peer, bought: dict[str, Any] | None) -> schemas.PeerPurchase:
    ref = peer_ref(peer).model_dump()
    if not bought:
        return schemas.PeerPurchase(**ref)
    return schemas.PeerPurchase(
        **ref,
        first_bought=bought["first_at"],
        last_bought=bought["last_at"],
        orders=bought["orders"],
        quantity=bought["quantity"],
        revenue=None if bought["revenue"] is None else cents(bought["revenue"]),
        bought_before=[_product(engine, s) for s in sorted(bought["bought_before"])],
    )


def _product(engine: Engine, sku: str) -> schemas.Product:
    item = engine.product_index.get(sku)
    return schemas.Product(**(engine.product_dict(item) if item is not None else {"sku": sku, "name": sku}))


def _dismissal(found: dict[str, Any] | None, days: int) -> schemas.Dismissal | None:
    if found is None:
        return None
    at: datetime = found["at"]
    until = at + timedelta(days=days)
    return schemas.Dismissal(
        at=at,
        by=found.get("user"),
        note=found.get("note"),
        suppressed_until=until,
        suppressed=until > datetime.now(UTC),
    )


def _prior(engine: Engine, sku: str, peers: int, mine: set[int]) -> schemas.PriorProduct:
    item = engine.product_index.get(sku)
    product = engine.product_dict(item) if item is not None else {"sku": sku, "name": sku}
    return schemas.PriorProduct(**product, peers=peers, account_owns=item in mine)
