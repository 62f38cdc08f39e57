"""Parent links must end: cycles of any length, self-parents included, are found."""

from __future__ import annotations

from crossgraph.data.parents import parent_cycles


def test_a_tree_has_no_cycle() -> None:
    assert parent_cycles({"A3": "A1", "A2": "A1", "A1": None, "A4": "A9"}) == []


def test_an_account_that_is_its_own_parent_is_a_cycle_of_one() -> None:
    assert parent_cycles({"A1": None, "A2": "A2"}) == [["A2"]]


def test_cycles_of_any_length_list_only_their_members_in_parent_order() -> None:
    parent_of = {"T": "B", "A": "B", "B": "C", "C": "A", "X": "Y", "Y": "X", "Z": None}
    # T leads into the cycle without being on it.
    assert parent_cycles(parent_of) == [["B", "C", "A"], ["X", "Y"]]


def test_a_long_chain_closing_on_its_start_is_found_once() -> None:
    parent_of = {f"A{i}": f"A{i + 1}" for i in range(10_000)} | {"A10000": "A0"}
    (cycle,) = parent_cycles(parent_of)
    assert len(cycle) == 10_001 and cycle[0] == "A0"
