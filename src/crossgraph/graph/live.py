"""Live facts for serving: what the artifact cannot know (accounts and purchases since the fit)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crossgraph.graph.driver import Graph


def find_account(graph: Graph, account_id: str) -> dict[str, Any] | None:
    """The account's attributes and the skus it has bought, or None when it is not in the graph."""
    rows = graph.read("find_account", {"id": account_id})
    return rows[0] if rows else None


def find_product(graph: Graph, sku: str) -> dict[str, Any] | None:
    """The product's sku, name, category and kind, or None when the catalogue lacks it."""
    rows = graph.read("find_product", {"sku": sku})
    return rows[0] if rows else None


def peer_purchases(graph: Graph, peer_ids: Sequence[str], sku: str) -> dict[str, dict[str, Any]]:
    """Per peer that bought `sku`: first/last purchase (UTC), orders, quantity, revenue, bought_before."""
    return _by_peer(graph.read("peer_purchases", {"peer_ids": list(peer_ids), "sku": sku}))


@dataclass(frozen=True)
class EvidenceFacts:
    """What the evidence for one account x product reads from the graph, in one round trip."""

    owned: list[str]  # skus the account has bought (empty when it is not in the graph)
    purchases: dict[str, dict[str, Any]]  # as peer_purchases: per peer that bought the product
    last_dismissal: dict[str, Any] | None  # at, user, note of the account's latest dismissal of it


def evidence_facts(graph: Graph, account_id: str, peer_ids: Sequence[str], sku: str) -> EvidenceFacts:
    """The account's owned skus, how `peer_ids` bought `sku`, and the account's latest dismissal
    of it: one query (the evidence route's only round trip)."""
    row = graph.read("evidence_facts", {"account_id": account_id, "peer_ids": list(peer_ids), "sku": sku})[0]
    last = row["last_dismissal"]
    return EvidenceFacts(
        owned=[str(s) for s in row["owned"]],
        purchases=_by_peer(row["purchases"]),
        last_dismissal=None if last is None else {**last, "at": last["at"].to_native()},
    )


def _by_peer(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        str(r["account_id"]): {**r, "first_at": _utc(r["first_at"]), "last_at": _utc(r["last_at"])}
        for r in rows
    }


def _utc(value: Any) -> datetime | None:
    """neo4j.time.DateTime/LocalDateTime -> an aware datetime (None stays None). Purchase times
    are stored as local date-times of UTC (localdatetime(datetime({epochSeconds})) at ingest):
    they say so once read, so the API writes them with their offset."""
    if value is None:
        return None
    native = value.to_native() if hasattr(value, "to_native") else value
    if not isinstance(native, datetime):
        return None
    return native if native.tzinfo is not None else native.replace(tzinfo=UTC)


def top_accounts(graph: Graph, limit: int) -> list[str]:
    """The `limit` accounts with the most revenue, largest first."""
    return [str(r["id"]) for r in graph.read("top_accounts_by_revenue", {"limit": limit})]


def account_revenue(graph: Graph, account_ids: Sequence[str]) -> dict[tuple[str, str], float]:
    """(account, sku) -> revenue of everything the given accounts bought."""
    rows = graph.read_values("account_revenue", {"ids": list(account_ids)})
    return {(str(r["account_id"]), str(r["sku"])): float(r["revenue"] or 0.0) for r in rows}
