"""The account worklist: which accounts to work this week, and why.

`build_worklist` computes one row per account of the graph with the same one-pass view the
account plan uses (recommend.plan.account_view), so the worklist's top opportunity is the one
the account page shows first: the upsell potential score and its components
(intel.potential), the expected value of the open opportunities, the top one, the next
contract end, the last touchpoint and flags. It is precomputed, not computed per request:
`crossgraph worklist refresh` (run it after the nightly `crossgraph train`, see training/)
writes a snapshot file into CROSSGRAPH_WORKLIST_DIR (default `<data_dir>/worklist/`; replicas
share it as they share the model folder), and the API (`GET /v1/accounts`) and
`crossgraph worklist` page, sort and filter the newest snapshot in memory. Touchpoints,
purchases and feedback recorded after a refresh show at the next one.

Snapshots are kept (newest `KEEP` of them), named by the refresh time, gzip-compressed JSON,
written atomically: a reader never sees half a file.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import orjson

from crossgraph.dates import today
from crossgraph.errors import AccountNotFound, InvalidInput, WorklistMissing
from crossgraph.graph.driver import Graph
from crossgraph.graph.feedback import suppressions
from crossgraph.intel.potential import PotentialConfig, upsell_potential
from crossgraph.intel.signals import AccountFacts, event_window, read_signal_facts_many, upsell_talk_due
from crossgraph.money import cents
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.nba import GraphRun, Intel, cross_sell
from crossgraph.recommend.plan import AccountView, account_view, revenue, view_of, view_options

FORMAT = 1
KEEP = 30
TOP = 8  # opportunities per account that count into the open value (as the plan's default)
PAGE = 200  # accounts whose facts the refresh reads in one query
CONTRACT_SOON_DAYS = 90
SORTS = ("potential", "open_value", "revenue", "last_touchpoint")
Sort = Literal["potential", "open_value", "revenue", "last_touchpoint"]
Progress = Callable[[str, int, int], None]

FLAG_TEXT = {
    "upsell_talk_due": "no upsell conversation in 6 months",
    "contract_ends_soon": "contract ends within 90 days",
    "revenue_falling": "revenue falling",
    "key_contact_left": "key contact left",
}


def build_worklist(
    engine: Engine,
    graph: Graph,
    *,
    as_of: date | None = None,
    intel: Intel | None = None,
    config: PotentialConfig = PotentialConfig(),
    suppress_days: int = 90,
    workers: int = 2,
    page: int = PAGE,
    keep_lists: bool = True,
    accounts: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Every account of the graph, one row each (see the module doc); JSON-ready. Products
    dismissed within `suppress_days` before `as_of`, or won, are left out as in the lists.
    The accounts' facts are read `page` accounts per query (one round trip each), `workers`
    pages at a time (one page's rows are computed while Neo4j reads the next). With
    `keep_lists`, each account's opportunity list is kept in the graph as the list of `as_of`'s
    quarter (write_lists), which the quarterly review compares. `accounts`: only these (ids)."""
    if page < 1:
        raise InvalidInput(f"page={page} must be at least 1")
    intel = intel or Intel()
    day = as_of or today()
    started = time.perf_counter()
    every = graph.read("worklist_accounts")
    if accounts is not None:
        wanted = set(accounts)
        every = [a for a in every if a["id"] in wanted]
    since = datetime.combine(day - timedelta(days=suppress_days), datetime.min.time(), UTC)
    hidden = suppressions(graph, since)

    def entries(chunk: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return page_entries(engine, graph, chunk, day, intel, config, hidden)

    chunks = [every[start : start + page] for start in range(0, len(every), page)]
    rows, lists = [], []
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="worklist") as pool:
        for done in pool.map(entries, chunks):
            for found, listed in done:
                rows.append(found)
                lists.append(listed)
            if progress:
                progress("accounts", len(rows), len(every))
    if keep_lists:
        write_lists(graph, lists, day, engine.version)
    return {
        "format": FORMAT,
        "as_of": day.isoformat(),
        "model_version": engine.version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "potential_weights": dict(config.weights),
        "rows": rows,
    }


def page_entries(
    engine: Engine,
    graph: Graph,
    accounts: Sequence[dict[str, Any]],
    day: date,
    intel: Intel,
    config: PotentialConfig,
    hidden: Mapping[str, frozenset[str]],
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """account_entry of each of `accounts`, their facts read in one query (read_signal_facts_many);
    `hidden`: account id -> its suppressed skus."""

    def run(call: Callable[[Graph], Any]) -> Any:
        return call(graph)

    options = {a["id"]: view_options(day, TOP, hidden.get(a["id"], frozenset())) for a in accounts}
    candidates = {key: cross_sell(engine, run, key, chosen) for key, chosen in options.items()}
    window = event_window(day, intel.fusion.event_days)
    peers = {key: found.peers(engine) for key, found in candidates.items()}
    facts = read_signal_facts_many(graph, peers, events=window, as_of=day, config=intel.signals)
    out = []
    for account in accounts:
        key = account["id"]
        if key not in facts:
            raise AccountNotFound(key)  # gone from the graph since the accounts were listed
        view = view_of(engine, candidates[key], facts[key], options[key], intel)
        found = view_row(engine, view, account, intel, config)
        out.append((found, opportunity_list(view, found)))
    return out


def account_entry(
    engine: Engine,
    run: GraphRun,
    account: dict[str, Any],
    day: date,
    intel: Intel,
    config: PotentialConfig,
    suppressed: frozenset[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One account's worklist row and the opportunity list the review keeps, from one view."""
    view = account_view(engine, run, account["id"], as_of=day, intel=intel, top=TOP, suppressed=suppressed)
    found = view_row(engine, view, account, intel, config)
    return found, opportunity_list(view, found)


def account_row(
    engine: Engine,
    run: GraphRun,
    account: dict[str, Any],
    day: date,
    intel: Intel,
    config: PotentialConfig,
    suppressed: frozenset[str],
) -> dict[str, Any]:
    """The worklist row alone (account_entry)."""
    return account_entry(engine, run, account, day, intel, config, suppressed)[0]


def view_row(
    engine: Engine, view: AccountView, account: dict[str, Any], intel: Intel, config: PotentialConfig
) -> dict[str, Any]:
    facts, day = view.facts, view.day
    gaps = configuration_gaps(engine, view.candidates.index, facts, config)
    potential = upsell_potential(facts, view.signals, day, gaps, intel.signals, config)
    items = view.items
    top = items[0] if items else None
    money = revenue(facts, day)
    talk_due, talk_days = upsell_talk_due(facts, day, intel.signals)
    flags = _flags(view.signals.risks, facts, day, talk_due)
    last = facts.last_touchpoint()
    ending = sorted((c for c in facts.contracts if c.ends_at >= day), key=lambda c: (c.ends_at, c.id))
    return {
        "id": account["id"],
        "name": account.get("name") or account["id"],
        "segment": account.get("segment"),
        "industry": account.get("industry"),
        "country": account.get("country"),
        "owner": account.get("owner"),
        "potential": potential.score,
        "components": {k: c.as_dict() for k, c in potential.components.items()},
        "open_value": cents(sum(i["expected_value"] for i in items)),
        "opportunities": len(items),
        "top_opportunity": None
        if top is None
        else {k: top[k] for k in ("kind", "signal", "sku", "name", "expected_value", "reason")},
        "next_contract_end": None
        if not ending
        else {
            "id": ending[0].id,
            "ends_at": ending[0].ends_at.isoformat(),
            "days_left": (ending[0].ends_at - day).days,
        },
        "last_touchpoint": None
        if last is None
        else {"type": last.type, "occurred_at": last.occurred_at.isoformat(), "owner": last.owner},
        "days_since_touchpoint": None if last is None else (day - last.occurred_at).days,
        "days_since_upsell_conversation": talk_days,
        "revenue_12m": money["last_12_months"],
        "revenue_trend": money["trend"],
        "flags": flags,
    }


def opportunity_list(view: AccountView, row: dict[str, Any]) -> dict[str, Any]:
    """What the quarterly review keeps of an account: its list, its risk flags, its potential."""
    items = view.items
    return {
        "account_id": row["id"],
        "skus": [i["sku"] for i in items],
        "names": [i["name"] for i in items],
        "kinds": [i["kind"] for i in items],
        "signals": [i["signal"] for i in items],
        "values": [float(i["expected_value"]) for i in items],
        "risks": sorted({r.flag for r in view.signals.risks}),
        "potential": row["potential"],
    }


def write_lists(
    graph: Graph, lists: Sequence[dict[str, Any]], day: date, version: str, batch: int = 2000
) -> None:
    """Keep the lists as those of `day`'s quarter (a later refresh in the quarter replaces them)."""
    params = {"quarter": quarter_label(day), "taken_on": day, "model_version": version}
    for start in range(0, len(lists), batch):
        graph.write("write_opportunity_lists", {**params, "rows": list(lists[start : start + batch])})


def quarter_label(day: date) -> str:
    """2026-11-30 -> '2026Q4'."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def configuration_gaps(
    engine: Engine, index: int | None, facts: AccountFacts, config: PotentialConfig
) -> list[str]:
    """Options the account lacks that at least `gap_share` of its closest peers running one of its
    machines own (at least `min_peers` such peers), most common first; by product name."""
    if index is None:
        return []
    machines = {a.model.sku for a in facts.assets} | {
        b.product.sku for b in facts.bought if b.product.kind == "machine"
    }
    machine_idx = {engine.product_index[s] for s in machines if s in engine.product_index}
    if not machine_idx:
        return []
    owned = set(engine.owned_indices(index).tolist())
    peers = [p.index for p in engine.peers(index)]
    running = [set(engine.owned_indices(p).tolist()) for p in peers]
    running = [r for r in running if r & machine_idx]
    if len(running) < config.min_peers:
        return []
    counts: dict[int, int] = {}
    for items in running:
        for item in items:
            if engine.kinds[item] in config.option_kinds and item not in owned and engine.active[item]:
                counts[item] = counts.get(item, 0) + 1
    needed = config.gap_share * len(running)
    standard = sorted(
        (i for i, n in counts.items() if n >= needed), key=lambda i: (-counts[i], engine.skus[i])
    )
    return [engine.product_names[i] for i in standard]


def _flags(risks: Sequence[Any], facts: AccountFacts, day: date, talk_due: bool) -> list[str]:
    flags = []
    if talk_due:
        flags.append("upsell_talk_due")
    if any((c.ends_at - day).days <= CONTRACT_SOON_DAYS for c in facts.contracts if c.ends_at >= day):
        flags.append("contract_ends_soon")
    names = {r.flag for r in risks}
    flags += [f for f in ("revenue_falling", "key_contact_left") if f in names]
    return flags


# -- snapshots ------------------------------------------------------------------------------


def write_snapshot(folder: Path, worklist: dict[str, Any], keep: int = KEEP) -> Path:
    """Into `folder` (settings.worklist_folder), atomically: a temporary file, then a rename. The
    oldest snapshots beyond `keep` go."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"worklist-{stamp}.json.gz"
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".worklist-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            out.write(orjson.dumps(worklist))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    for old in sorted(folder.glob("worklist-*.json.gz"))[:-keep]:
        old.unlink(missing_ok=True)
    return target


def latest_snapshot(folder: Path) -> Path | None:
    found = sorted(folder.glob("worklist-*.json.gz"))
    return found[-1] if found else None


def read_snapshot(path: Path) -> dict[str, Any]:
    try:
        with gzip.open(path, "rb") as handle:
            body: dict[str, Any] = orjson.loads(handle.read())
    except (OSError, ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidInput(f"{path} is not a readable worklist snapshot: {exc}") from None
    if body.get("format") != FORMAT:
        raise InvalidInput(f"{path} has worklist format {body.get('format')!r}, this version reads {FORMAT}")
    return body


class Worklist:
    """One snapshot, ready to page. The filter fields are coded as integer arrays and each sort
    order is computed once, on first use, so a filtered first page of 100k accounts is a few
    numpy operations (benchmarks/worklist.py)."""

    FIELDS = ("segment", "country", "owner")

    def __init__(self, path: Path, body: dict[str, Any]) -> None:
        self.path, self.body = path, body
        self.rows: list[dict[str, Any]] = body["rows"]
        self._codes: dict[str, tuple[dict[str, int], npt.NDArray[np.int64]]] = {}
        for name in self.FIELDS:
            lookup: dict[str, int] = {}
            codes = [lookup.setdefault((r.get(name) or "").casefold(), len(lookup)) for r in self.rows]
            self._codes[name] = (lookup, np.asarray(codes, dtype=np.int64))
        bits = {flag: 1 << i for i, flag in enumerate(FLAG_TEXT)}
        self._bits = bits
        self._flags = np.asarray([sum(bits[f] for f in r["flags"]) for r in self.rows], dtype=np.int64)
        ids = np.asarray([r["id"] for r in self.rows], dtype=object)
        id_rank = np.empty(len(ids), dtype=np.int64)
        id_rank[np.argsort(ids, kind="stable")] = np.arange(len(ids))
        # every order up front (a reload, not a request, pays): best first, ties by account id
        self._orders = {
            sort: np.lexsort((id_rank, -np.asarray([key(r) for r in self.rows], dtype=np.float64)))
            for sort, key in _SORT_KEYS.items()
        }

    def order(self, sort: Sort) -> npt.NDArray[np.intp]:
        """Row positions best first: highest potential, open value or revenue; or the longest since
        the last touchpoint (never touched first). Ties by account id."""
        return self._orders[sort]

    def select(self, **query: Any) -> list[dict[str, Any]]:
        """Every row matching the query (see `page`), in its order."""
        return self.page(limit=len(self.rows), **query)[1]

    def page(
        self,
        *,
        sort: Sort = "potential",
        segment: Iterable[str] = (),
        country: Iterable[str] = (),
        owner: Iterable[str] = (),
        flag: Iterable[str] = (),
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[int, list[dict[str, Any]]]:
        """(rows matching every filter, the `limit` of them from `offset` in `sort` order). A filter
        matches any of its values, case-insensitively; `flag` needs all the flags given."""
        if sort not in _SORT_KEYS:
            raise InvalidInput(f"sort: unknown {sort!r}; expected one of {', '.join(SORTS)}")
        flags = set(flag)
        unknown = flags - set(FLAG_TEXT)
        if unknown:
            raise InvalidInput(f"flag: unknown {sorted(unknown)}; expected one of {', '.join(FLAG_TEXT)}")
        order = self.order(sort)
        keep = np.ones(len(self.rows), dtype=bool)
        for name, values in (("segment", segment), ("country", country), ("owner", owner)):
            wanted = {v.casefold() for v in values}
            if wanted:
                lookup, codes = self._codes[name]
                keep &= np.isin(codes, [lookup[v] for v in wanted if v in lookup])
        if flags:
            need = sum(self._bits[f] for f in flags)
            keep &= (self._flags & need) == need
        chosen = order[keep[order]] if len(keep) and not keep.all() else order
        return len(chosen), [self.rows[i] for i in chosen[offset : offset + limit].tolist()]


_SORT_KEYS: dict[str, Callable[[dict[str, Any]], float]] = {
    "potential": lambda r: float(r["potential"]),
    "open_value": lambda r: float(r["open_value"]),
    "revenue": lambda r: float(r["revenue_12m"]),
    "last_touchpoint": lambda r: (
        float(r["days_since_touchpoint"]) if r["days_since_touchpoint"] is not None else float("inf")
    ),
}


class WorklistHolder:
    """The newest snapshot for a serving process. On use, at most every `every` seconds, it looks
    for a newer file; the first one is loaded in the request, later ones in a background thread
    while the current snapshot keeps answering (a 100k-account snapshot takes seconds to read)."""

    def __init__(self, folder: Path, every: float = 5.0) -> None:
        self.folder, self.every = folder, every
        self._current: Worklist | None = None
        self._checked = -float("inf")
        self._loading: Path | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def get(self) -> Worklist:
        now = time.monotonic()
        if self._current is None or now - self._checked >= self.every:  # until there is one: always
            with self._lock:
                self._checked = now
                newest = latest_snapshot(self.folder)
                if newest is None:
                    self._current = None  # the snapshots were removed: say so rather than serve the old
                stale = newest is not None and newest != self._loading
                stale = stale and (self._current is None or newest != self._current.path)
                if stale and newest is not None:
                    self._loading = newest
                    if self._current is None:
                        self._load(newest)
                    else:
                        threading.Thread(target=self._load, args=(newest,), daemon=True).start()
        if self._current is None:
            raise WorklistMissing(
                "no worklist yet: run `crossgraph worklist refresh` (after `crossgraph train`) to compute it"
                + (f"; the newest snapshot could not be read: {self.last_error}" if self.last_error else "")
            )
        return self._current

    def _load(self, path: Path) -> None:
        try:
            self._current = Worklist(path, read_snapshot(path))
            self.last_error = None
        except InvalidInput as exc:
            self.last_error = str(exc)  # the current snapshot, if any, stays
        finally:
            self._loading = None
