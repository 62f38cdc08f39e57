"""Order lines as Parquet (export --parquet, a data lake's files, the local engine's input):
read back value for value, with the codes training builds its matrices from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crossgraph.data.matrix import build_interactions
from crossgraph.data.orderlines import OrderLines
from crossgraph.data.parquet import FILE, read_order_lines, write_order_lines
from crossgraph.errors import InvalidInput
from tests.unit.lines_factory import block_lines

LINES = block_lines(n_accounts=60, n_blocks=3, block_size=6, seed=3)
COLUMNS = ("line_id", "order_id", "account_id", "sku", "quantity", "revenue", "ordered_at")


def test_order_lines_survive_a_parquet_round_trip(tmp_path: Path) -> None:
    path = write_order_lines(LINES, tmp_path / "lake")
    assert path.name == "order_lines.parquet"
    back = read_order_lines(tmp_path / "lake")
    for name in COLUMNS:
        assert getattr(back, name).tolist() == getattr(LINES, name).tolist(), name
    # The matrices built from the codes that come with the read are those of the lines as
    # written: the same accounts, products and per-pair order counts.
    ours, theirs = build_interactions(back), build_interactions(LINES)
    assert ours.accounts.to_array().tolist() == theirs.accounts.to_array().tolist()
    assert ours.products.to_array().tolist() == theirs.products.to_array().tolist()
    assert np.array_equal(ours.orders, theirs.orders) and np.array_equal(ours.indices, theirs.indices)


def test_codes_read_with_the_lines_are_the_codes_computed_from_them(tmp_path: Path) -> None:
    write_order_lines(LINES, tmp_path / "lake")
    back = read_order_lines(tmp_path / "lake")
    read = back.codes()
    fresh = OrderLines(**{name: getattr(back, name) for name in COLUMNS}).codes()
    assert read.accounts.tolist() == fresh.accounts.tolist() and read.skus.tolist() == fresh.skus.tolist()
    assert np.array_equal(read.account, fresh.account) and np.array_equal(read.sku, fresh.sku)
    # order codes only tell orders apart: equal codes exactly where the order ids are equal
    pairs = set(zip(read.order.tolist(), back.order_id.tolist(), strict=True))
    assert len(pairs) == len(set(read.order.tolist())) == len(set(back.order_id.tolist()))
    # a subset keeps its parent's codes
    early = back.before(np.datetime64("2023-05-01"))
    assert 0 < len(early) < len(back) and early.codes().account.tolist() == [
        read.accounts.tolist().index(a) for a in early.account_id.tolist()
    ]


def test_an_empty_file_reads_as_no_lines(tmp_path: Path) -> None:
    write_order_lines(LINES.select(np.zeros(len(LINES), dtype=bool)), tmp_path / "lake")
    back = read_order_lines(tmp_path / "lake")
    assert len(back) == 0 and back.codes().accounts.tolist() == []


def test_a_file_with_empty_ids_says_which_column(tmp_path: Path) -> None:
    write_order_lines(LINES, tmp_path / "lake")
    table = pq.read_table(tmp_path / "lake" / FILE)
    accounts = table.column("account_id").to_pylist()
    accounts[5] = None
    index = table.column_names.index("account_id")
    pq.write_table(
        table.set_column(index, "account_id", pa.array(accounts, pa.string())), tmp_path / "lake" / FILE
    )
    with pytest.raises(InvalidInput, match="empty values in column account_id"):
        read_order_lines(tmp_path / "lake")


def test_lines_read_for_training_leave_out_the_ids_and_cannot_be_written(tmp_path: Path) -> None:
    write_order_lines(LINES, tmp_path / "lake")
    full, anonymous = read_order_lines(tmp_path / "lake"), read_order_lines(tmp_path / "lake", line_ids=False)
    assert not anonymous.has_line_ids and set(anonymous.line_id.tolist()) == {""}
    for name in COLUMNS[1:]:
        assert getattr(anonymous, name).tolist() == getattr(full, name).tolist(), name
    assert np.array_equal(build_interactions(anonymous).orders, build_interactions(full).orders)
    early = anonymous.before(np.datetime64("2023-05-01"))
    assert not early.has_line_ids  # a subset is no more writable than its parent
    with pytest.raises(ValueError, match="read without their line ids"):
        write_order_lines(early, tmp_path / "again")
