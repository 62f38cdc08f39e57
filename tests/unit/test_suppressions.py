"""The service's suppression table: a dismissal this process stored is never lost to a refresh
from the graph that started reading before the dismissal was written (the watcher's refresh
used to replace the table with what it had read, and the dismissed product came back until the
next refresh)."""

from __future__ import annotations

from crossgraph.api.state import Suppressions


def test_a_refresh_that_started_before_a_dismissal_keeps_it() -> None:
    table = Suppressions()
    table.replace({"A1": frozenset({"P1"})})
    read_started = table.started()  # the watcher starts reading the graph ...
    table.add("A2", "P9")  # ... a rep dismisses P9 for A2 meanwhile (stored, then added here)
    table.replace({"A1": frozenset({"P1"})}, read_started)  # the read did not see it
    assert table.of("A2") == {"P9"}
    assert table.of("A1") == {"P1"}


def test_a_refresh_that_started_after_the_dismissal_is_the_graph_s_word() -> None:
    table = Suppressions()
    table.add("A2", "P9")
    read_started = table.started()  # this read starts after the write: it holds the dismissal
    table.replace({"A2": frozenset({"P9"}), "A3": frozenset({"P4"})}, read_started)
    assert table.of("A2") == {"P9"} and table.of("A3") == {"P4"}
    # The next refresh finds the dismissal gone from the graph (expired, or undone there): so here.
    table.replace({"A3": frozenset({"P4"})}, table.started())
    assert table.of("A2") == frozenset()
