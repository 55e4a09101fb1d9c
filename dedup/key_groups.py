"""Rows grouped by a 64-bit key, each group's smallest doc_id the one that stays: exact dedup's removals and
MinHash's candidate edges (a star around the smallest document of each band key) are the same reduce.

A key bucket is sized to fit one task, but keys can be skewed: one boilerplate page copied ten million
times is ten million rows of one key, all in one bucket. `pairs_in_files` then reads the bucket twice, file
by file, holding only each key's smallest doc_id (a key repeated a million times costs one entry), and
yields its pairs file by file, so the task's memory follows the number of distinct keys, not of rows.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow.parquet as pq

from core import shuffle

Pairs = tuple[np.ndarray, np.ndarray]


def group_min_pairs(keys: np.ndarray, ids: np.ndarray) -> Pairs:
    """For every row that is not the smallest id of its key: (that smallest id, the row's id)."""
    order = np.lexsort((ids, keys))
    keys, ids = keys[order], ids[order]
    del order
    starts = _starts(keys)
    del keys
    first_of_key = ids[starts]
    counts = np.diff(np.append(np.flatnonzero(starts), len(ids)))
    first = np.repeat(first_of_key, counts)
    others = ~starts
    return first[others], ids[others]


def _starts(sorted_keys: np.ndarray) -> np.ndarray:
    starts = np.empty(len(sorted_keys), dtype=bool)
    starts[:1] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=starts[1:])
    return starts


def group_min(keys: np.ndarray, ids: np.ndarray) -> Pairs:
    """Distinct keys (sorted) and the smallest id of each."""
    order = np.lexsort((ids, keys))
    keys, ids = keys[order], ids[order]
    starts = _starts(keys)
    return keys[starts], ids[starts]


def pairs_in_files(fs, files: list[tuple[str, int]], budget: int) -> Iterator[Pairs]:
    """`group_min_pairs` over the rows of (path, bytes) files with `key` and `doc_id` columns: at once when
    they fit `budget`, else in two passes over the files (see the module docstring)."""
    if sum(n for _, n in files) <= budget:
        table = shuffle.read_tables(fs, [path for path, _ in files], columns=["key", "doc_id"])
        if table is not None:
            keys, ids = table.column("key").to_numpy(), table.column("doc_id").to_numpy()
            del table  # the numpy copies are what the reduce needs
            yield group_min_pairs(keys, ids)
        return
    partial = [group_min(*_read(fs, path)) for path, _ in files]
    keys, smallest = group_min(np.concatenate([k for k, _ in partial]), np.concatenate([i for _, i in partial]))
    for path, _ in files:
        file_keys, ids = _read(fs, path)
        first = smallest[np.searchsorted(keys, file_keys)]
        other = ids != first
        yield first[other], ids[other]


def _read(fs, path: str) -> Pairs:
    table = pq.read_table(path, columns=["key", "doc_id"], filesystem=fs)
    return table.column("key").to_numpy(), table.column("doc_id").to_numpy()
