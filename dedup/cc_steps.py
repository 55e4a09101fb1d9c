"""Connected components over partitioned edge files: the file-based rounds of dedup/components.py.

Layout under `<work>/cc/`: `round-RRRR/from-A/to-Q.parquet` holds directed edges (src, dst) whose source
node belongs to partition Q, written by task A of the previous round; `round-RRRR/from-A/_SUCCESS.json`
commits task A's outputs (and records whether its partition changed). Round r runs large-star when r is
even and small-star when it is odd. At the start of every even round r >= 2 each task compares its input
with its input two rounds before: when no partition changed, the edge set is a fixed point (one star per
component, centred on its smallest node) and the loop stops. Exact, not a hash or a sample.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dedup.components import large_star, roots_from_stars, small_star, split, symmetric, unique_edges
from dedup.signature_store import agreement
from pipeline import corpus, storage

REASON = "minhash_dedup.duplicate"


def round_dir(cc_dir: str, r: int) -> str:
    return storage.join(cc_dir, f"round-{r:04d}")


def write_partitioned(fs, folder: str, u: np.ndarray, v: np.ndarray, partitions: int, info: dict) -> None:
    """Symmetrize (u, v), send each directed edge to its source's partition, then commit with a marker."""
    for q, (src, dst) in enumerate(split(*symmetric(u, v), partitions)):
        corpus.write_part(fs, storage.join(folder, f"to-{q:04d}.parquet"), pa.table({"src": src, "dst": dst}))
    corpus.commit_marker(fs, storage.join(folder, "_SUCCESS.json"), info)


def seed_edges(output: str, bucket: int, edges_file: str, cc_dir: str, partitions: int) -> None:
    """Task: round 0's input, from one bucket of candidate edges."""
    fs, _ = storage.filesystem(output)
    folder = storage.join(round_dir(cc_dir, 0), f"from-e{bucket:04d}")
    if fs.exists(storage.join(folder, "_SUCCESS.json")):
        return
    edges = pq.read_table(edges_file, filesystem=fs)
    write_partitioned(fs, folder, edges.column("u").to_numpy(), edges.column("v").to_numpy(), partitions, {})


def read_input(fs, cc_dir: str, r: int, q: int) -> tuple[np.ndarray, np.ndarray]:
    files = sorted(fs.glob(storage.join(round_dir(cc_dir, r), "from-*", f"to-{q:04d}.parquet")))
    if not files:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    table = pa.concat_tables([pq.read_table(f, filesystem=fs) for f in files])
    return unique_edges(table.column("src").to_numpy(), table.column("dst").to_numpy())


def star_round(output: str, cc_dir: str, r: int, q: int, partitions: int) -> bool:
    """Task: one round for partition q. Returns True if q's input differs from its input two rounds ago."""
    fs, _ = storage.filesystem(output)
    folder = storage.join(round_dir(cc_dir, r + 1), f"from-{q:04d}")
    marker = storage.join(folder, "_SUCCESS.json")
    if fs.exists(marker):
        return storage.read_json(fs, marker)["changed"]
    src, dst = read_input(fs, cc_dir, r, q)
    changed = True
    if r >= 2 and r % 2 == 0:
        old_src, old_dst = read_input(fs, cc_dir, r - 2, q)
        changed = not (np.array_equal(src, old_src) and np.array_equal(dst, old_dst))
    a, b = (large_star if r % 2 == 0 else small_star)(src, dst)
    write_partitioned(fs, folder, a, b, partitions, {"changed": changed, "edges_in": int(src.size)})
    return changed


def removals(output: str, cc_dir: str, r: int, q: int, removed_dir: str, work: str, min_jaccard: float) -> int:
    """Task: at the fixed point, every node of partition q that is not its component's root is removed;
    with `min_jaccard` > 0, only if its signature still agrees that much with the root's (the kept one)."""
    fs, _ = storage.filesystem(output)
    final = storage.join(removed_dir, f"part-{q:04d}.parquet")
    if fs.exists(final):
        return pq.read_metadata(final, filesystem=fs).num_rows
    roots = roots_from_stars([read_input(fs, cc_dir, r, q)])
    removed = np.array(sorted(node for node, root in roots.items() if root < node), dtype=np.int64)
    kept_as = np.array([roots[node] for node in removed.tolist()], dtype=np.int64)
    if min_jaccard > 0 and removed.size:
        close = agreement(fs, work, removed, kept_as) >= min_jaccard
        removed, kept_as = removed[close], kept_as[close]
    table = pa.table(
        {
            "doc_id": pa.array(removed, pa.int64()),
            "reason": pa.array([REASON] * len(removed), pa.string()),
            "duplicate_of": pa.array(kept_as, pa.int64()),
        }
    )
    corpus.write_part(fs, final, table)
    return len(removed)


def connected_components(
    ctx: corpus.CorpusContext, edge_files: list[str], partitions: int, min_jaccard: float = 0.0
) -> list[str]:
    """Drive the rounds with ctx.map until the exact stop test passes; returns the removal files."""
    cc_dir, removed_dir = storage.join(ctx.work, "cc"), storage.join(ctx.work, "removed")
    ctx.map(seed_edges, [(ctx.output, b, f, cc_dir, partitions) for b, f in enumerate(edge_files)])
    r = 0
    while True:
        changed = ctx.map(star_round, [(ctx.output, cc_dir, r, q, partitions) for q in range(partitions)])
        if r >= 2 and r % 2 == 0 and not any(changed):
            break
        r += 1
    ctx.map(removals, [(ctx.output, cc_dir, r, q, removed_dir, ctx.work, min_jaccard) for q in range(partitions)])
    return [storage.join(removed_dir, f"part-{q:04d}.parquet") for q in range(partitions)]
