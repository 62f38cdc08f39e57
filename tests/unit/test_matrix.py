"""Order lines -> account x product matrix with id maps and per-pair aggregates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossgraph.data.codes import factorize
from crossgraph.data.matrix import IdMap, build_interactions
from crossgraph.data.orderlines import OrderLines
from tests.unit.lines_factory import lines_of


def test_id_map_is_sorted_and_maps_unknown_ids_to_minus_one() -> None:
    ids = IdMap.from_ids(["b", "a", "c", "a"])
    assert list(ids.ids) == ["a", "b", "c"]
    assert ids.indices(np.array(["c", "zz", "a"], dtype=object)).tolist() == [2, -1, 0]
    assert ids.index("b") == 1 and "zz" not in ids
    assert ids.id(2) == "c"


def test_id_map_round_trips_through_npy_without_pickle(tmp_path: Path) -> None:
    ids = IdMap.from_ids(["17850", "12346", "A-1"])
    np.save(tmp_path / "ids.npy", ids.to_array(), allow_pickle=False)
    back = IdMap.from_array(np.load(tmp_path / "ids.npy", allow_pickle=False))
    assert list(back.ids) == list(ids.ids)


def test_id_map_refuses_unsorted_ids() -> None:
    with pytest.raises(ValueError, match="sorted"):
        IdMap(np.array(["b", "a"], dtype=object))


def test_lines_are_aggregated_per_pair_counting_distinct_orders() -> None:
    lines = lines_of(
        [
            ("O1", "A1", "P1", "2024-01-01T10:00:00"),
            ("O1", "A1", "P1", "2024-01-01T10:00:00"),  # same order, second line
            ("O2", "A1", "P1", "2024-02-01T09:00:00"),
            ("O2", "A1", "P2", "2024-02-01T09:00:00"),
            ("O3", "A2", "P2", "2024-03-01T08:00:00"),
        ],
        quantity=2.0,
        revenue=5.0,
    )
    it = build_interactions(lines)
    assert it.shape == (2, 2)
    m = it.matrix.toarray()
    assert m.dtype == np.float32
    assert m.tolist() == [[2.0, 1.0], [0.0, 1.0]]  # distinct orders
    a1p1 = 0  # first stored pair: A1 x P1
    assert it.lines[a1p1] == 3 and it.quantity[a1p1] == 6.0 and it.revenue[a1p1] == 15.0
    assert str(it.first_at[a1p1]) == "2024-01-01T10:00:00"
    assert str(it.last_at[a1p1]) == "2024-02-01T09:00:00"
    assert it.product_counts().tolist() == [1, 2]
    assert it.account_counts().tolist() == [2, 1]


def test_fixed_id_maps_align_matrices_and_drop_unknown_ids() -> None:
    accounts = IdMap.from_ids(["A1", "A2", "A3"])
    products = IdMap.from_ids(["P1", "P2"])
    lines = lines_of(
        [
            ("O1", "A2", "P2", "2024-01-01"),
            ("O2", "A9", "P1", "2024-01-01"),  # unknown account
            ("O3", "A1", "P7", "2024-01-01"),  # unknown product
        ]
    )
    it = build_interactions(lines, accounts=accounts, products=products)
    assert it.shape == (3, 2)
    assert it.matrix.toarray().tolist() == [[0, 0], [0, 1], [0, 0]]


def test_without_pairs_of_removes_pairs_held_by_the_other_matrix() -> None:
    lines = lines_of([("O1", "A1", "P1", "2024-01-01"), ("O1", "A1", "P2", "2024-01-01")])
    before = build_interactions(lines.select(np.array([True, False])), *_maps(lines))
    both = build_interactions(lines, *_maps(lines))
    assert both.without_pairs_of(before).binary.toarray().tolist() == [[0, 1]]


def _maps(lines: OrderLines) -> tuple[IdMap, IdMap]:
    return IdMap.from_ids(lines.account_id), IdMap.from_ids(lines.sku)


def test_factorize_gives_what_np_unique_gives_on_strings() -> None:
    rng = np.random.default_rng(5)
    values = [f"A{n}" for n in rng.integers(0, 300, size=5_000)] + [17, 3.5, "17"]
    uniques, codes = factorize(values)
    expected, inverse = np.unique(np.array([str(v) for v in values], dtype=object), return_inverse=True)
    assert list(uniques) == list(expected)
    assert codes.tolist() == inverse.reshape(-1).tolist()
    assert factorize([])[0].tolist() == [] and factorize([])[1].tolist() == []


def test_factorize_of_object_arrays_sorts_as_python_and_keeps_first_appearance_unsorted() -> None:
    values = np.array(["b", "ä", "a", "B", "b", "€", "a"], dtype=object)  # hashed in Arrow
    uniques, codes = factorize(values)
    assert uniques.tolist() == sorted(set(values.tolist()))  # code point order, as str's
    assert [uniques[c] for c in codes] == values.tolist()
    first, codes = factorize(values, sort=False)
    assert first.tolist() == ["b", "ä", "a", "B", "€"]
    assert [first[c] for c in codes] == values.tolist()
    mixed = np.array(["x", None, 7, "x"], dtype=object)  # not all str: str() of each, as before
    uniques, codes = factorize(mixed)
    assert uniques.tolist() == ["7", "None", "x"] and codes.tolist() == [2, 1, 0, 2]
