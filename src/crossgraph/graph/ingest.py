"""Loading CSV files into the graph: check everything first, then write in batches.

Nothing is written until every file of the load has been parsed and every reference
resolved (against the files and the graph). Writes are `UNWIND ... MERGE` batches, idempotent
by key and, for purchases, by order line id (account x product pairs new to the graph are
created outright, the others' ledgers extended by the lines not yet in them), so re-running a
load that was interrupted (e.g. the connection dropped) completes it without double counting.
"""

from __future__ import annotations

import csv
import functools
import gc
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossgraph.data.codes import factorize
from crossgraph.data.csvout import atomic_text
from crossgraph.data.online_retail import OnlineRetail, read_online_retail
from crossgraph.data.orderlines import OrderLines
from crossgraph.data.parents import parent_cycles
from crossgraph.data.purchase_columns import parse_purchases
from crossgraph.data.tables import (
    ACCOUNTS,
    PRODUCTS,
    PURCHASES,
    TABLES,
    TABLES_BY_NAME,
    TOUCHPOINTS,
    ParsedTable,
    RowProblem,
    TableSpec,
    parse_records,
    read_table,
    reference_values,
)
from crossgraph.errors import Conflict, InvalidInput, InvalidRows
from crossgraph.graph.changes import ChangeKind
from crossgraph.graph.driver import Graph

Progress = Callable[[str, int, int], None]  # (stage, done, total)
Row = dict[str, Any]

# The graph lookup of ids that a load refers to but does not contain.

LOOKUP_QUERIES = {
    "accounts": "find_account_ids",
    "products": "find_product_skus",
    "contacts": "find_contact_ids",  # also returns the contact's account_id
}
NOUNS = {"accounts": "account", "products": "product", "contacts": "contact"}
GC_FREEZE_LINES = 50_000  # loads at least this large run with the cyclic GC frozen (gc_frozen)


@dataclass
class LoadReport:
    rows: dict[str, int] = field(default_factory=dict)  # rows written per table
    rejected: int = 0
    rejects_path: Path | None = None
    new_lines: int = 0  # purchase lines not seen before
    known_lines: int = 0  # purchase lines already in the graph (skipped)
    pairs: int = 0  # account x product pairs touched
    changed: dict[ChangeKind, list[str]] = field(default_factory=dict)  # accounts written, by change kind
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "rejected": self.rejected,
            "rejects_path": str(self.rejects_path) if self.rejects_path else None,
            "new_purchase_lines": self.new_lines,
            "known_purchase_lines": self.known_lines,
            "pairs": self.pairs,
            "seconds": round(self.seconds, 3),
        }


def read_directory(directory: Path) -> dict[str, ParsedTable]:
    """Parse every known CSV file present in the directory (each file is optional; `NAME.csv`
    may be gzip-compressed as `NAME.csv.gz`; a clean purchases file is read as columns). A
    file that cannot be read as CSV text stops the load; every such file is named."""
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a directory")
    paths = {spec.name: path for spec in TABLES if (path := table_file(directory, spec.filename))}
    if not paths:
        expected = ", ".join(spec.filename for spec in TABLES)
        raise InvalidInput(
            f"{directory} holds none of the files crossgraph loads ({expected}, each may be .csv.gz)"
        )
    tables: dict[str, ParsedTable] = {}
    unreadable: list[str] = []
    for name, path in paths.items():
        try:
            tables[name] = (
                parse_purchases(path) if name == PURCHASES.name else read_table(TABLES_BY_NAME[name], path)
            )
        except InvalidInput as exc:
            unreadable.append(str(exc))
    if unreadable:
        raise InvalidInput("; ".join(unreadable) + "; nothing was written")
    return tables


def table_file(directory: Path, filename: str) -> Path | None:
    """`filename` or `filename.gz` in the directory; both at once is ambiguous and refused."""
    plain, compressed = directory / filename, directory / f"{filename}.gz"
    if plain.exists() and compressed.exists():
        raise InvalidInput(
            f"{directory} holds both {plain.name} and {compressed.name}; keep one; nothing was written"
        )
    return plain if plain.exists() else compressed if compressed.exists() else None


def check_parents(tables: dict[str, ParsedTable], graph: Graph | None) -> None:
    """Following parent_id from any account must end. An account that is its own parent, or a
    cycle of any length through the file and the graph's PART_OF links, is a problem on each
    row of the file that closes it, and those rows leave `rows`."""
    accounts = tables.get("accounts")
    if accounts is None or all(row["parent_id"] is None for row in accounts.rows):
        return
    in_file = {str(row["id"]): row["parent_id"] for row in accounts.rows}
    line_of = {str(row["id"]): line for row, line in zip(accounts.rows, accounts.lines, strict=True)}
    graph_parent: dict[str, str | None] = {}
    asked: set[str] = set()

    def ask_graph(ids: set[str]) -> None:
        """The graph's PART_OF links above these accounts (a file row replaces its own link)."""
        if graph is not None and ids - asked:
            for record in graph.read("account_ancestors", {"ids": sorted(ids - asked)}):
                graph_parent[record["id"]] = record["parent_id"]
            asked.update(ids)

    ask_graph({p for p in in_file.values() if p is not None and p not in in_file})
    refused: dict[str, RowProblem] = {}
    while True:
        kept = {account: parent for account, parent in in_file.items() if account not in refused}
        parent_of = kept | {a: p for a, p in graph_parent.items() if a not in kept}  # file order first
        cycles = [c for c in parent_cycles(parent_of) if kept.keys() & set(c)]
        if not cycles:
            break
        for cycle in cycles:
            problem = _cycle_problem(cycle, from_file=kept.keys() >= set(cycle))
            for account in kept.keys() & set(cycle):
                refused[account] = RowProblem(
                    accounts.path.name, line_of[account], "parent_id", problem, accounts.where
                )
        # A refused row leaves the account's graph parent in place, which may close another cycle.
        ask_graph(set(refused))
    _drop_rows(accounts, lambda row, _line: refused.get(str(row["id"])))


def _cycle_problem(cycle: list[str], from_file: bool) -> str:
    if len(cycle) == 1:
        return f"account {cycle[0]!r} is its own parent"
    path = " -> ".join(repr(account) for account in [*cycle, cycle[0]])
    return f"parent cycle {path}" + ("" if from_file else " (partly in the graph)")


def _drop_rows(table: ParsedTable, problem_of: Callable[[Row, int], RowProblem | None]) -> None:
    """Move the rows that have a problem from `rows` to `problems` and `rejected`."""
    kept_rows: list[Row] = []
    kept_lines: list[int] = []
    for row, line in zip(table.rows, table.lines, strict=True):
        problem = problem_of(row, line)
        if problem is None:
            kept_rows.append(row)
            kept_lines.append(line)
        else:
            table.problems.append(problem)
            table.rejected.append((line, {k: _show(v) for k, v in row.items()}, problem))
    table.rows, table.lines = kept_rows, kept_lines


def check_references(tables: dict[str, ParsedTable], graph: Graph | None) -> None:
    """Every referenced account/sku/contact must be in this load or already in the graph, and a
    touchpoint's contact must be a contact of the touchpoint's account.

    Rows whose references cannot be resolved get a problem and leave `rows`."""
    keys: dict[str, set[str]] = {
        name: {str(row[TABLES_BY_NAME[name].key[0]]) for row in tables[name].rows}
        if name in tables
        else set()
        for name in LOOKUP_QUERIES
    }
    referenced = {
        (table.spec.name, ref.column): _referenced(table, ref.column)
        for table in tables.values()
        for ref in table.spec.references
    }
    wanted: dict[str, set[str]] = {name: set() for name in LOOKUP_QUERIES}
    for table in tables.values():
        for ref in table.spec.references:
            wanted[ref.table].update(referenced[table.spec.name, ref.column] - keys[ref.table])
    contact_account = (
        {str(r["id"]): str(r["account_id"]) for r in tables["contacts"].rows} if "contacts" in tables else {}
    )
    for name, ids in wanted.items():
        if ids and graph is not None:
            found = graph.read(LOOKUP_QUERIES[name], {"ids": sorted(ids)})
            keys[name].update(str(r["id"]) for r in found)
            if name == "contacts":
                contact_account.update({str(r["id"]): str(r["account_id"]) for r in found})
    for table in tables.values():
        resolved = all(
            referenced[table.spec.name, ref.column] <= keys[ref.table] for ref in table.spec.references
        )
        if resolved and not any(_foreign_contact(table, row, 0, contact_account) for row in table.rows):
            continue  # every reference resolves (always so for a load without problems)
        _as_rows(table)
        _drop_rows(
            table, functools.partial(_reference_problem, table, keys=keys, contact_account=contact_account)
        )


def _referenced(table: ParsedTable, column: str) -> set[str]:
    """The ids a column refers to, over all rows (as reference_values gives them row by row)."""
    if table.columnar is not None:  # purchases: account_id and sku, one str object per id
        return set(getattr(table.columnar, column).tolist())
    values = [row.get(column) for row in table.rows]
    try:
        distinct = set(values)
    except TypeError:  # lists of ids (id_list columns)
        return {v for row in table.rows for v in reference_values(row, column)}
    distinct.discard(None)
    return {str(v) for v in distinct}


def _as_rows(table: ParsedTable) -> None:
    """Read a table held as columns again row by row, for problems with the row path's line
    numbers and rejects (only a load with unresolved references pays for it)."""
    if table.columnar is not None:
        again = read_table(table.spec, table.path)
        table.rows, table.lines, table.columnar = again.rows, again.lines, None
        table.problems.extend(again.problems)
        table.rejected.extend(again.rejected)


def _reference_problem(
    table: ParsedTable, row: Row, line: int, keys: dict[str, set[str]], contact_account: dict[str, str]
) -> RowProblem | None:
    return _unresolved(table, row, line, keys) or _foreign_contact(table, row, line, contact_account)


def _foreign_contact(
    table: ParsedTable, row: Row, line: int, contact_account: dict[str, str]
) -> RowProblem | None:
    """A touchpoint whose contact works for another account (the contact's account is known)."""
    if table.spec is not TOUCHPOINTS or row["contact_id"] is None:
        return None
    owner = contact_account.get(row["contact_id"])
    if owner is None or owner == row["account_id"]:
        return None
    return RowProblem(
        table.path.name,
        line,
        "contact_id",
        f"contact {row['contact_id']!r} is a contact of account {owner!r}, not of {row['account_id']!r}",
        table.where,
    )


def _unresolved(table: ParsedTable, row: Row, line: int, keys: dict[str, set[str]]) -> RowProblem | None:
    for ref in table.spec.references:
        for value in reference_values(row, ref.column):
            if value not in keys[ref.table]:
                where = "in the graph" if table.where == "item" else f"in {ref.table}.csv nor in the graph"
                return RowProblem(
                    table.path.name,
                    line,
                    ref.column,
                    f"unknown {NOUNS[ref.table]} {value!r} (not {where})",
                    table.where,
                )
    return None


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def load_directory(
    graph: Graph,
    directory: Path,
    *,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    batch_size: int = 5000,
    writers: int = 1,
    progress: Progress | None = None,
) -> LoadReport:
    started = time.perf_counter()
    report = write_checked(
        graph,
        read_directory(directory),
        skip_invalid=skip_invalid,
        rejects_path=rejects_path,
        batch_size=batch_size,
        writers=writers,
        progress=progress,
    )
    report.seconds = time.perf_counter() - started
    return report


def load_records(
    graph: Graph, spec: TableSpec, source: str, records: Iterable[Mapping[str, str]], batch_size: int = 5000
) -> LoadReport:
    """Rows of one table that arrive as column -> text maps (the API's POST /v1/purchases and
    /v1/accounts bodies): parsed, checked and written exactly as `load_directory` does with a
    file of that table. Any problem raises InvalidRows and nothing is written."""
    started = time.perf_counter()
    report = write_checked(graph, {spec.name: parse_records(spec, source, records)}, batch_size=batch_size)
    report.seconds = time.perf_counter() - started
    return report


def write_checked(
    graph: Graph,
    tables: dict[str, ParsedTable],
    *,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    batch_size: int = 5000,
    writers: int = 1,
    progress: Progress | None = None,
) -> LoadReport:
    """Resolve the parsed tables' references, then write them; with problems, raise InvalidRows
    (nothing written) or, with `skip_invalid`, write the good rows and the rejects file."""
    report = check_tables(graph, tables, skip_invalid=skip_invalid, rejects_path=rejects_path)
    rows = {name: t.rows for name, t in tables.items() if name != PURCHASES.name}
    write_tables(graph, rows, report, batch_size, progress)
    purchases = tables.get(PURCHASES.name)
    if purchases is not None and len(purchases):
        write_purchases(graph, purchases.order_lines(), report, batch_size, progress, writers=writers)
    return report


def check_tables(
    graph: Graph,
    tables: dict[str, ParsedTable],
    *,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
) -> LoadReport:
    """Resolve the parsed tables' references; with problems, raise InvalidRows or, with
    `skip_invalid`, drop the bad rows and write the rejects file. The report of the load to come."""
    check_parents(tables, graph)  # first: a refused account may leave references unresolved
    check_references(tables, graph)
    problems = [p for t in tables.values() for p in t.problems]
    report = LoadReport()
    if problems:
        if not skip_invalid:
            raise InvalidRows(problems)
        report.rejected = sum(len(t.rejected) for t in tables.values())
        report.rejects_path = write_rejects(rejects_path or Path("rejects.csv"), tables.values())
    return report


def write_rejects(path: Path, tables: Iterable[ParsedTable]) -> Path:
    """One CSV row per rejected input row: where it was, what was wrong, its cells as JSON."""
    rows = [
        (p.file, p.line, p.column or "", p.problem, json.dumps(cells, ensure_ascii=False))
        for t in tables
        for (_, cells, p) in t.rejected
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_text(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(("file", "line", "column", "problem", "row"))
        writer.writerows(rows)
    return path


def write_tables(
    graph: Graph,
    rows: dict[str, list[Row]],
    report: LoadReport,
    batch_size: int,
    progress: Progress | None = None,
) -> None:
    """Write checked rows, referenced tables first; purchases are left to write_purchases."""
    steps: list[tuple[str, str, list[Row]]] = []
    for spec in TABLES:
        table_rows = rows.get(spec.name)
        if not table_rows:
            continue
        if spec is PURCHASES:
            continue
        steps.append((spec.name, f"upsert_{spec.name}", table_rows))
        if spec is ACCOUNTS:
            steps.append(("accounts", "link_account_parents", table_rows))
        if spec is PRODUCTS:
            steps.append(("products", "link_product_fits", table_rows))
    for name, query, table_rows in steps:
        for done, batch in _batches(table_rows, batch_size):
            graph.write(query, {"rows": batch})
            if progress:
                progress(name if query.startswith("upsert_") else query, done, len(table_rows))
        if query.startswith("upsert_"):
            report.rows[name] = len(table_rows)
        if query == "upsert_accounts":
            report.changed["accounts"] = [str(row["id"]) for row in table_rows]


# A BOUGHT's ledger: one entry per order line it has counted, in these parallel lists.
LEDGER = ("line_ids", "line_orders", "line_at", "line_quantities", "line_revenues")


@dataclass(frozen=True)
class PairAggregates:
    """Per pair: distinct orders, summed quantity and revenue, first and last line (seconds)."""

    orders: npt.NDArray[np.int64]
    quantity: npt.NDArray[np.float64]
    revenue: npt.NDArray[np.float64]
    first_at: npt.NDArray[np.int64]
    last_at: npt.NDArray[np.int64]


@dataclass(frozen=True)
class PairLines:
    """Order lines grouped by account x product: lines sorted by account, then sku (both in order
    of first appearance; a pair's lines keep their file order), pair i holding the lines
    bounds[i] .. bounds[i + 1] - 1."""

    account: npt.NDArray[np.object_]  # per pair
    sku: npt.NDArray[np.object_]
    bounds: npt.NDArray[np.int64]  # pairs + 1 entries
    line_id: npt.NDArray[np.object_]  # per line
    order_id: npt.NDArray[np.object_]
    line_at: npt.NDArray[np.int64]  # seconds since 1970-01-01 00:00 local business time
    quantity: npt.NDArray[np.float64]
    revenue: npt.NDArray[np.float64]

    @classmethod
    def group(cls, lines: OrderLines) -> PairLines:
        lines.require_line_ids("write them to the graph")
        account_code, accounts = _factorize(lines.account_id)
        sku_code, skus = _factorize(lines.sku)
        key = account_code * max(len(skus), 1) + sku_code
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
        return cls(
            account=accounts[account_code[order[starts]]],
            sku=skus[sku_code[order[starts]]],
            bounds=np.r_[starts, len(key)].astype(np.int64),
            line_id=lines.line_id[order],
            order_id=lines.order_id[order],
            line_at=lines.ordered_at[order].astype("datetime64[s]").astype(np.int64),
            quantity=lines.quantity[order],
            revenue=lines.revenue[order],
        )

    def __len__(self) -> int:
        return len(self.account)

    @property
    def lines(self) -> int:
        return int(self.bounds[-1])

    def select(self, keep: npt.NDArray[np.bool_]) -> PairLines:
        """The pairs where `keep` (one entry per pair) is true, with their lines."""
        sizes = np.diff(self.bounds)
        line_keep = np.repeat(keep, sizes)
        return PairLines(
            account=self.account[keep],
            sku=self.sku[keep],
            bounds=np.r_[0, np.cumsum(sizes[keep])].astype(np.int64),
            line_id=self.line_id[line_keep],
            order_id=self.order_id[line_keep],
            line_at=self.line_at[line_keep],
            quantity=self.quantity[line_keep],
            revenue=self.revenue[line_keep],
        )

    def slice(self, first: int, stop: int) -> PairLines:
        """Pairs first .. stop - 1 with their lines."""
        begin, end = int(self.bounds[first]), int(self.bounds[stop])
        return PairLines(
            account=self.account[first:stop],
            sku=self.sku[first:stop],
            bounds=self.bounds[first : stop + 1] - begin,
            line_id=self.line_id[begin:end],
            order_id=self.order_id[begin:end],
            line_at=self.line_at[begin:end],
            quantity=self.quantity[begin:end],
            revenue=self.revenue[begin:end],
        )

    def select_lines(self, keep: npt.NDArray[np.bool_]) -> PairLines:
        """Every pair, with only the lines where `keep` (one entry per line) is true."""
        kept = np.r_[0, np.cumsum(keep)].astype(np.int64)
        return PairLines(
            account=self.account,
            sku=self.sku,
            bounds=kept[self.bounds],
            line_id=self.line_id[keep],
            order_id=self.order_id[keep],
            line_at=self.line_at[keep],
            quantity=self.quantity[keep],
            revenue=self.revenue[keep],
        )

    @classmethod
    def concat_ledgers(
        cls,
        pairs: PairLines,
        ledgers: dict[str, list[list[Any]]],
        sizes: npt.NDArray[np.int64],
        new: PairLines,
    ) -> PairLines:
        """Per pair of `pairs`, its ledger as stored (purchase_ledgers' lists: LEDGER's keys, one
        list of `sizes` entries per pair) followed by its lines in `new` (the same pairs): the
        ledger after the extension."""
        pair = np.arange(len(pairs))
        order = np.argsort(np.r_[np.repeat(pair, sizes), np.repeat(pair, np.diff(new.bounds))], kind="stable")

        def joined(key: str, added: npt.NDArray[Any], dtype: Any) -> npt.NDArray[Any]:
            flat = itertools.chain.from_iterable(ledgers[key])
            stored = np.fromiter(flat, dtype=dtype, count=int(sizes.sum()))
            return np.concatenate([stored, added.astype(dtype)])[order]

        return cls(
            account=pairs.account,
            sku=pairs.sku,
            bounds=np.r_[0, np.cumsum(sizes + np.diff(new.bounds))].astype(np.int64),
            line_id=joined("line_ids", new.line_id, object),
            order_id=joined("line_orders", new.order_id, object),
            line_at=joined("line_at", new.line_at, np.int64),
            quantity=joined("line_quantities", new.quantity, np.float64),
            revenue=joined("line_revenues", new.revenue, np.float64),
        )

    @functools.cached_property
    def aggregates(self) -> PairAggregates:
        """What a new BOUGHT holds besides its ledger, per pair, for every pair at once."""
        sizes = np.diff(self.bounds)
        starts = self.bounds[:-1]
        if len(self) == 0:
            empty = np.zeros(0)
            return PairAggregates(
                np.zeros(0, np.int64), empty, empty, empty.astype(np.int64), empty.astype(np.int64)
            )
        # Distinct orders per pair: the lines sorted by order within their pair (the lines are
        # grouped by pair already), a line counting when its order differs from the one before.
        # A sort, not np.unique: numpy 2.4's np.unique took 2.3 s for 2.3M keys, the sort 0.1 s.
        pair_of_line = np.repeat(np.arange(len(self), dtype=np.int64), sizes)
        order_code, _ = _factorize(self.order_id)
        code = order_code[np.lexsort((order_code, pair_of_line))]
        first_of_order = np.r_[True, code[1:] != code[:-1]]
        first_of_order[starts] = True  # a pair's first line always counts
        return PairAggregates(
            orders=np.add.reduceat(first_of_order.astype(np.int64), starts),
            quantity=np.add.reduceat(self.quantity, starts),
            revenue=np.add.reduceat(self.revenue, starts),
            first_at=np.minimum.reduceat(self.line_at, starts),
            last_at=np.maximum.reduceat(self.line_at, starts),
        )

    def batches(self, lines_per_batch: int) -> Iterator[tuple[dict[str, list[Any]], int]]:
        """Parameters of create_purchases for about `lines_per_batch` lines at a time, cut only
        between accounts: the batch's accounts, each with its pairs account_pairs[j] ..
        account_pairs[j + 1] - 1; its products, pair i being of products[product_of_pair[i]];
        parallel lists per pair and per line, pair i holding the lines offsets[i] ..
        offsets[i + 1] - 1. Yields (parameters, lines in them)."""
        for first, stop in self.cuts(lines_per_batch, between_accounts=True):
            begin, end = int(self.bounds[first]), int(self.bounds[stop])
            local = self.bounds[first:stop] - begin
            offsets = [*local.tolist(), end - begin]
            accounts = self.account[first:stop]
            account_starts = np.flatnonzero(np.r_[True, accounts[1:] != accounts[:-1]])
            product_of_pair, products = _factorize(self.sku[first:stop])
            totals = self.aggregates
            yield (
                {
                    "accounts": accounts[account_starts].tolist(),
                    "account_pairs": [*account_starts.tolist(), stop - first],
                    "products": products.tolist(),
                    "product_of_pair": product_of_pair.tolist(),
                    "offsets": offsets,
                    "line_ids": self.line_id[begin:end].tolist(),
                    "order_ids": self.order_id[begin:end].tolist(),
                    "line_at": self.line_at[begin:end].tolist(),
                    "quantities": self.quantity[begin:end].tolist(),
                    "revenues": self.revenue[begin:end].tolist(),
                    # Aggregates of each pair as a new BOUGHT holds them (an existing pair
                    # recomputes its own from the merged ledger in Cypher).
                    "orders": totals.orders[first:stop].tolist(),
                    "quantity": totals.quantity[first:stop].tolist(),
                    "revenue": totals.revenue[first:stop].tolist(),
                    "first_at": totals.first_at[first:stop].tolist(),
                    "last_at": totals.last_at[first:stop].tolist(),
                },
                end - begin,
            )

    def account_ranges(self) -> list[tuple[int, int]]:
        """(first, stop) of each account's pairs (pairs come grouped by account)."""
        if len(self) == 0:
            return []
        starts = np.flatnonzero(np.r_[True, self.account[1:] != self.account[:-1]]).tolist()
        return list(pairwise([*starts, len(self)]))

    def cuts(self, lines_per_batch: int, *, between_accounts: bool = False) -> Iterator[tuple[int, int]]:
        """(first, stop) pair ranges of about `lines_per_batch` lines each (at least one pair),
        cut only where the account changes if `between_accounts`."""
        if len(self) == 0:
            return
        if between_accounts:
            ends = np.flatnonzero(np.r_[self.account[1:] != self.account[:-1], True])
        else:
            ends = np.arange(len(self))
        cuts = [0]
        for pair in ends.tolist():
            if self.bounds[pair + 1] - self.bounds[cuts[-1]] >= lines_per_batch:
                cuts.append(pair + 1)
        if cuts[-1] != len(self):
            cuts.append(len(self))
        yield from pairwise(cuts)


def _factorize(values: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
    """Codes 0..n-1 in order of first appearance, and the distinct values."""
    distinct, codes = factorize(values, sort=False)
    return codes, distinct


@dataclass(frozen=True)
class PairsInGraph:
    exists: npt.NDArray[np.bool_]  # the pair has a BOUGHT
    fresh: npt.NDArray[np.bool_]  # ... and some of the pair's lines are not in its ledger
    bought: npt.NDArray[np.object_]  # the BOUGHT's element id where it exists, else None
    new_lines: int = 0  # lines of pairs with a BOUGHT that are not in its ledger


def pairs_in_graph(graph: Graph, pairs: PairLines, chunk: int = 5_000) -> PairsInGraph:
    """Which pairs already have a BOUGHT, and which of those lack some of their lines in its ledger."""
    exists = np.zeros(len(pairs), dtype=bool)
    fresh = np.zeros(len(pairs), dtype=bool)
    bought = np.full(len(pairs), None, dtype=object)
    new_lines = 0
    accounts = pairs.account_ranges()
    line_ids, bounds, skus = pairs.line_id.tolist(), pairs.bounds.tolist(), pairs.sku.tolist()
    for start in range(0, len(accounts), chunk):
        part = accounts[start : start + chunk]
        (found,) = graph.read_values(
            "existing_purchase_pairs",
            {"accounts": [pairs.account[f] for f, _ in part], "skus": [skus[f:e] for f, e in part]},
        )
        index = {(j, skus[i]): i for j, (f, e) in enumerate(part) for i in range(f, e)}
        for j, sku, element_id, ledger in zip(
            found["account"], found["skus"], found["bought"], found["line_ids"], strict=True
        ):
            i = index[j, sku]
            known = set(ledger)
            new = sum(1 for x in line_ids[bounds[i] : bounds[i + 1]] if x not in known)
            exists[i], bought[i], fresh[i] = True, element_id, new > 0
            new_lines += new
    return PairsInGraph(exists, fresh, bought, new_lines)


def ledger_extensions(
    graph: Graph, pairs: PairLines, bought: npt.NDArray[np.object_], lines_per_batch: int
) -> Iterator[tuple[dict[str, list[Any]], int]]:
    """Parameters of extend_purchases for pairs that have a BOUGHT (`bought`: its element id per
    pair), about `lines_per_batch` of their lines at a time: each batch reads its pairs' ledgers
    (purchase_ledgers), keeps the lines not in them, and recomputes each pair's aggregates over
    old and new lines with PairLines.aggregates, the function that gives new pairs theirs.
    Yields (parameters, lines of the batch's pairs, new or not)."""
    for first, stop in pairs.cuts(lines_per_batch):
        part = pairs.slice(first, stop)
        ids = bought[first:stop].tolist()
        (read,) = graph.read_values("purchase_ledgers", {"ids": ids})
        if read["ids"] != ids:
            gone = len(ids) - len(read["ids"])
            raise GraphChanged(f"{gone:,} BOUGHT relationships disappeared while the load ran")
        ledgers = {key: read[key] for key in LEDGER}
        line_ids = part.line_id.tolist()
        keep = np.zeros(part.lines, dtype=bool)
        for stored, begin, end in zip(
            ledgers["line_ids"], part.bounds[:-1].tolist(), part.bounds[1:].tolist(), strict=True
        ):
            known = set(stored)
            keep[begin:end] = [x not in known for x in line_ids[begin:end]]
        new = part.select_lines(keep)
        stored_sizes = np.array([len(x) for x in ledgers["line_ids"]], dtype=np.int64)
        totals = PairLines.concat_ledgers(part, ledgers, stored_sizes, new).aggregates
        yield (
            {
                "ids": ids,
                "known": stored_sizes.tolist(),
                "offsets": new.bounds.tolist(),
                "line_ids": new.line_id.tolist(),
                "order_ids": new.order_id.tolist(),
                "line_at": new.line_at.tolist(),
                "quantities": new.quantity.tolist(),
                "revenues": new.revenue.tolist(),
                "orders": totals.orders.tolist(),
                "quantity": totals.quantity.tolist(),
                "revenue": totals.revenue.tolist(),
                "first_at": totals.first_at.tolist(),
                "last_at": totals.last_at.tolist(),
            },
            part.lines,
        )


class GraphChanged(Conflict):
    """BOUGHT ledgers changed between a load's read and its write (another load ran at the same
    time, or relationships were deleted); what was written is consistent (`report` says what
    that was), and running the load again completes it (lines already in a ledger are never
    counted twice): write_purchases does, up to OVERLAP_ATTEMPTS runs."""

    def __init__(self, what: str, report: LoadReport | None = None) -> None:
        super().__init__(
            f"{what}; it overlapped other writes to the same pairs. Nothing is counted twice:"
            " run the load again"
        )
        self.report = report or LoadReport()  # what the load did write before it stopped


OVERLAP_ATTEMPTS = 3


def write_purchases(
    graph: Graph,
    lines: OrderLines,
    report: LoadReport,
    batch_size: int,
    progress: Progress | None = None,
    *,
    writers: int = 1,
    attempts: int = OVERLAP_ATTEMPTS,
) -> None:
    """Write order lines into BOUGHT, about `batch_size` lines per transaction.

    Pairs the graph does not hold yet (all of them on a first load) are created outright
    (create_purchases), by `writers` concurrent transactions (batches cut between accounts, so
    no two hold the same pair; a deadlock on a popular product's relationships is a transient
    error the driver retries, the transaction having written nothing). Pairs that already have
    a BOUGHT and some lines not in its ledger are extended (ledger_extensions: their ledgers
    read, the aggregates recomputed here, the new lines appended by element id, which locks only
    the relationship), by `writers` concurrent transactions too. Measured on 1M lines (230k
    pairs), 2 cores: purchase write 35 s -> about 17 s on a first load. Two writers on Online
    Retail's 266k new pairs (benchmarks/ingest_writers.py, load average 2.4-2.9): 5.5-5.9 s
    against one writer's 7.9-9.1 s once the server is warm, 12.4 s against 13.1 s on a freshly
    started one (the JIT's compiler threads take the second core); on a busy machine (load
    11-12) both took 35 s.

    Other writers may write the same pairs meanwhile (a POST /v1/purchases during a nightly
    `crossgraph load`, two API workers, two loads): nothing is counted twice. A ledger found
    changed at its write is left alone and a pair another writer created in between is not
    created a second time; the rest is written, and then the purchases are written again
    (each run skips the lines already in a ledger), at most `attempts` runs in all. The report
    counts every run's new lines and names every account written; after the last run it is
    GraphChanged (a conflict; running the load again completes it), carrying that report."""
    new_lines, changed = 0, list[str]()
    for attempt in range(1, attempts + 1):
        try:
            _write_purchases_once(graph, lines, report, batch_size, progress, writers=writers)
        except GraphChanged:
            new_lines += report.new_lines
            changed += report.changed.get("purchases", [])
            if attempt == attempts:
                _count_runs(report, len(lines), new_lines, changed)
                raise
        else:
            _count_runs(report, len(lines), new_lines + report.new_lines, changed)
            return


def _count_runs(report: LoadReport, lines: int, new_lines: int, changed: list[str]) -> None:
    """The report of all runs of write_purchases: the last run's, with the earlier runs' new
    lines and changed accounts added."""
    report.new_lines = new_lines
    report.known_lines = lines - new_lines
    report.changed["purchases"] = list(dict.fromkeys([*changed, *report.changed["purchases"]]))


def _write_purchases_once(
    graph: Graph,
    lines: OrderLines,
    report: LoadReport,
    batch_size: int,
    progress: Progress | None = None,
    *,
    writers: int = 1,
) -> None:
    """One run of write_purchases: raises GraphChanged, after writing the rest, when another
    writer overlapped it."""
    done_lines = created = 0
    with gc_frozen(len(lines) >= GC_FREEZE_LINES):
        pairs = PairLines.group(lines)
        in_graph = pairs_in_graph(graph, pairs)
        new_pairs = pairs.select(~in_graph.exists)
        taken = 0  # lines of pairs another load created since pairs_in_graph
        for written, count in write_batches(
            graph, "create_purchases", new_pairs.batches(batch_size), writers
        ):
            created, taken = created + written["lines"], taken + written["taken"]
            done_lines += count
            if progress:
                progress("purchases", done_lines, len(lines))
        merged, gone = 0, None
        extensions = ledger_extensions(
            graph, pairs.select(in_graph.fresh), in_graph.bought[in_graph.fresh], batch_size
        )
        try:
            for written, count in write_batches(graph, "extend_purchases", extensions, writers):
                merged += written["lines"]
                done_lines += count
                if progress:
                    progress("purchases", done_lines, len(lines))
        except GraphChanged as exc:  # ledgers gone since pairs_in_graph: the rest is not extended
            gone = exc
        if progress and done_lines < len(lines):  # the rest: pairs with every line in their ledger
            progress("purchases", len(lines), len(lines))
    report.pairs = len(pairs)
    report.changed["purchases"] = list(
        dict.fromkeys(pairs.account[~in_graph.exists | in_graph.fresh].tolist())
    )
    report.new_lines = created + merged
    report.known_lines = len(lines) - report.new_lines
    report.rows["purchases"] = len(lines)
    if taken:
        raise GraphChanged(
            f"{taken:,} order lines of new account x product pairs were not written: another"
            " load created those pairs while this one ran",
            report,
        )
    if gone or merged != in_graph.new_lines:
        raise GraphChanged(
            f"{in_graph.new_lines - merged:,} order lines of pairs already in the graph were not"
            " appended: their ledgers changed while the load ran",
            report,
        ) from gone


def write_batches(
    graph: Graph, query: str, batches: Iterator[tuple[dict[str, Any], int]], writers: int
) -> Iterator[tuple[dict[str, int], int]]:
    """Run `query` (returning one row of counts, e.g. `lines`) on each batch, at most `writers`
    transactions at a time; yields (that row, the batch's count) per batch as each finishes.
    Batches are made as writers free up (a few ahead), not all at once. On an error the batches
    not started are dropped and the error is raised once the running ones end."""

    def run(params: dict[str, Any], count: int) -> tuple[dict[str, int], int]:
        return {k: int(v) for k, v in graph.write(query, params)[0].items()}, count

    if writers <= 1:
        yield from (run(params, count) for params, count in batches)
        return
    with ThreadPoolExecutor(writers, thread_name_prefix="crossgraph-writer") as pool:
        pending: set[Future[tuple[dict[str, int], int]]] = set()
        try:
            for params, count in batches:
                if len(pending) >= 2 * writers:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (future.result() for future in finished)
                pending.add(pool.submit(run, params, count))
            for future in as_completed(pending):
                yield future.result()
        except BaseException:
            for future in pending:
                future.cancel()
            raise


@contextmanager
def gc_frozen(enabled: bool = True) -> Iterator[None]:
    """Keep the cyclic GC from rescanning the millions of parsed rows on every batch
    (measured: pair preparation 8.2 s -> 3.1 s for 1M lines). Nothing built here has cycles.
    Not for small writes (the API's): the full collection it starts with costs a process holding
    a model tens of milliseconds (42-53 ms with the 10k x 2k demo model loaded), for nothing."""
    if not enabled:
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _batches(rows: list[Row], size: int) -> Iterator[tuple[int, list[Row]]]:
    for start in range(0, len(rows), size):
        batch = rows[start : start + size]
        yield start + len(batch), batch


def import_online_retail(
    graph: Graph,
    path: Path,
    *,
    batch_size: int = 5000,
    writers: int = 1,
    progress: Progress | None = None,
) -> tuple[LoadReport, OnlineRetail]:
    """Map the UCI Online Retail file onto accounts, products and purchases and write them."""
    started = time.perf_counter()
    data = read_online_retail(path)
    report = LoadReport()
    write_tables(graph, online_retail_rows(data), report, batch_size, progress)
    write_purchases(graph, data.lines, report, batch_size, progress, writers=writers)
    report.seconds = time.perf_counter() - started
    return report, data


def online_retail_rows(data: OnlineRetail) -> dict[str, list[Row]]:
    """The accounts and products of the Online Retail file as load rows."""
    return {
        "accounts": [{**a, "segment": a["country"]} for a in data.accounts],
        "products": [{**p, "active": True} for p in data.products],
    }
