"""Where the MinHash signatures live (`<work>/sigs/part-N.parquet`, one per input file) and how the
verification steps read them back: only the parts the asked-for doc_ids come from, each once."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import storage

SIG_COLUMN = "signature"


def sigs_path(work: str, index: int) -> str:
    return storage.join(work, "sigs", f"part-{index:06d}.parquet")


def load_signatures(fs, work: str, ids: np.ndarray) -> dict[int, np.ndarray]:
    """doc_id -> signature for the given doc_ids (the file index is in the doc_id's high 32 bits)."""
    ids = np.unique(np.asarray(ids, dtype=np.int64))
    found: dict[int, np.ndarray] = {}
    for file_index in np.unique(ids >> 32).tolist():
        table = pq.read_table(sigs_path(work, file_index), filesystem=fs)
        table = table.filter(pc.is_in(table.column("doc_id"), value_set=pa.array(ids, pa.int64())))
        matrix = table.column(SIG_COLUMN).combine_chunks().flatten().to_numpy().reshape(table.num_rows, -1)
        found.update(zip(table.column("doc_id").to_pylist(), matrix))
    return found


def agreement(fs, work: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Estimated Jaccard (share of equal signature values) of each pair (u[i], v[i])."""
    if u.size == 0:
        return np.empty(0)
    sigs = load_signatures(fs, work, np.concatenate((u, v)))
    a = np.stack([sigs[i] for i in u.tolist()])
    b = np.stack([sigs[i] for i in v.tolist()])
    return (a == b).mean(axis=1)
