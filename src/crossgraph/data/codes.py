"""Values to integer codes: the distinct values of an id column and each value's index in them,
hashed in Arrow. Shared by the order-line table (its LineCodes), the matrix (id maps), the Parquet
and export readers and the graph loaders; it depends on none of them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

IntArray = npt.NDArray[np.intp]


def factorize(values: Iterable[object], *, sort: bool = True) -> tuple[npt.NDArray[np.object_], IntArray]:
    """(distinct str values, index of each value in them). Sorted, this is what
    `np.unique([str(v) for v in values], return_inverse=True)` returns, but it hashes the values
    in Arrow (dictionary_encode) and sorts only the distinct ones: 2.3M order ids in 0.9 s
    against 1.8 s with a Python dict and 14 s for np.unique's sort of every value (measured
    2026-12-02). With sort=False the distinct values come in order of first appearance, which
    is enough for codes that only need to tell values apart. Values that are not all str (or
    hold None) are turned into str first, as str() would."""
    return factorize_arrow(arrow_strings(values), sort=sort)


def factorize_arrow(
    strings: pa.Array | pa.ChunkedArray, *, sort: bool = True
) -> tuple[npt.NDArray[np.object_], IntArray]:
    """factorize for an Arrow string array without nulls (a Parquet column, an export's
    batches). `uniques[index]` is then an object array of the values in which equal values are
    one str object: 8 bytes a line instead of a str each (about 60 bytes for a 10-character id)."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks() if strings.num_chunks else pa.array([], type=pa.string())
    encoded = pc.dictionary_encode(strings)
    distinct = encoded.dictionary
    index = encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
    if sort and len(distinct):
        order = pc.sort_indices(distinct).to_numpy()  # UTF-8 byte order is code point order, as str's
        rank = np.empty(len(order), dtype=np.intp)
        rank[order] = np.arange(len(order), dtype=np.intp)
        index = rank[index]
        distinct = distinct.take(pa.array(order))
    uniques = distinct.to_numpy(zero_copy_only=False).astype(object, copy=False)  # 10x to_pylist's speed
    return uniques, index


def arrow_strings(values: Iterable[object]) -> pa.Array:
    """The values as an Arrow string array without nulls (str() of each value)."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        try:
            array = pa.array(values, type=pa.string(), from_pandas=False)
            if array.null_count == 0:
                return array
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            pass
        return pa.array(list(map(str, values.tolist())), type=pa.string())
    return pa.array(list(map(str, values)), type=pa.string())
