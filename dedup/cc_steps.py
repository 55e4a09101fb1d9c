"""Connected components over partitioned edge files: the file-based rounds of dedup/components.py.

Layout under `<work>/cc/`: `round-RRRR/bucket-QQQQQQ/part-AAAAAA.parquet` holds directed edges (src, dst)
whose source node belongs to partition Q, written by task A of the previous round (round 0: by the seed
tasks, from the candidate edges); `round-RRRR/done/task-AAAAAA.json` commits task A's files (and records
whether its partition changed). The number of partitions comes from the edge count (or `cc_partitions`)
and is recorded in `cc/plan.json`. Round r runs large-star when r is even and small-star when it is odd.
At the start of every even round r >= 2 each task compares its input with its input two rounds before:
when no partition changed, the edge set is a fixed point (one star per component, centred on its smallest
node) and the loop stops. Exact, not a hash or a sample. Large-star/small-star converges in O(log^2 n)
rounds (Kiveris et al. 2014), a few dozen in practice; `max_cc_rounds` turns a runaway into an error.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from core import shuffle, storage
from dedup.components import large_star, partition_of, small_star, star_roots, symmetric, unique_edges
from dedup.signature_store import agreement

REASON = "minhash_dedup.duplicate"
# Rows of the round inputs per candidate edge: both directions, and small-star adds up to one per node.
EDGE_GROWTH = 3


class ComponentsDidNotConverge(RuntimeError):
    pass


def round_dir(cc_dir: str, r: int) -> str:
    return storage.join(cc_dir, f"round-{r:04d}")


def connected_components(ctx, edge_files: list[list], cfg) -> list[list]:
    """Drive the rounds with ctx until the exact stop test passes; returns the removal files [path, bytes]."""
    cc_dir = storage.join(ctx.work, "cc")
    partitions = _partitions(ctx, cc_dir, edge_files, cfg.cc_partitions)
    seeds = shuffle.groups([tuple(f) for f in edge_files], ctx.task_bytes)
    args = [(ctx.output, cc_dir, t, [f for f, _ in g], partitions) for t, g in enumerate(seeds)]
    inputs = [_by_partition(round_dir(cc_dir, 0), ctx.step("cc_seed", seed_edges, args), partitions)]
    r = 0
    while True:
        if r >= cfg.max_cc_rounds:
            raise ComponentsDidNotConverge(
                f"minhash_dedup: connected components still changing after {r} rounds (max_cc_rounds); "
                "a chain of near-duplicates this long is unusual: raise max_cc_rounds or check the edges"
            )
        old = inputs[r - 2] if r >= 2 and r % 2 == 0 else [None] * partitions
        args = [(ctx.output, cc_dir, r, q, inputs[r][q], old[q], partitions) for q in range(partitions)]
        results = ctx.step(f"cc_round_{r:04d}", star_round, args)
        if r >= 2 and r % 2 == 0 and not any(res["changed"] for res in results):
            break
        inputs.append(_by_partition(round_dir(cc_dir, r + 1), [res["buckets"] for res in results], partitions))
        r += 1
    removed_dir = storage.join(ctx.work, "removed")
    args = [(ctx.output, q, inputs[r][q], removed_dir, ctx.work, cfg.verify_min_jaccard) for q in range(partitions)]
    return ctx.step("cc_removals", removals, args)


def _partitions(ctx, cc_dir: str, edge_files: list[list], explicit: int) -> int:
    fs, _ = storage.filesystem(ctx.output)
    path = storage.join(cc_dir, "plan.json")
    if fs.exists(path):
        return storage.read_json(fs, path)["partitions"]
    edge_bytes = sum(n for _, n in edge_files)
    partitions = explicit or max(1, math.ceil(EDGE_GROWTH * edge_bytes / ctx.task_bytes))
    storage.write_json(fs, path, {"edge_bytes": edge_bytes, "partitions": partitions})
    return partitions


def _by_partition(folder: str, written: list[dict], partitions: int) -> list[list[str]]:
    """Each partition's input files, from what each task wrote ({partition: [rows, bytes]})."""
    files: list[list[str]] = [[] for _ in range(partitions)]
    for task, buckets in enumerate(written):
        for q in sorted(int(b) for b in buckets):
            files[q].append(shuffle.bucket_file(folder, q, task))
    return files


def _commit_round(fs, folder: str, task: int, a: np.ndarray, b: np.ndarray, partitions: int, info: dict) -> dict:
    """Symmetrize (a, b), write each directed edge to its source's partition, then the task's marker."""
    src, dst = symmetric(a, b)
    table = pa.table({"src": pa.array(src, pa.int64()), "dst": pa.array(dst, pa.int64())})
    written = {}
    if src.size:
        written = shuffle.write_buckets(fs, folder, task, table, partition_of(src, partitions).astype(np.uint32))
    info = {**info, "buckets": written}
    storage.write_json(fs, storage.join(folder, "done", f"task-{task:06d}.json"), info)
    return info


def seed_edges(output: str, cc_dir: str, task: int, edge_files: list[str], partitions: int) -> dict:
    """Task: round 0's input, from a group of candidate-edge files."""
    fs, _ = storage.filesystem(output)
    folder = round_dir(cc_dir, 0)
    marker = storage.join(folder, "done", f"task-{task:06d}.json")
    if fs.exists(marker):
        return storage.read_json(fs, marker)["buckets"]
    edges = shuffle.read_tables(fs, edge_files)
    u = edges.column("u").to_numpy() if edges is not None else np.empty(0, np.int64)
    v = edges.column("v").to_numpy() if edges is not None else np.empty(0, np.int64)
    return _commit_round(fs, folder, task, u, v, partitions, {})["buckets"]


def read_input(fs, files: list[str]) -> tuple[np.ndarray, np.ndarray]:
    table = shuffle.read_tables(fs, files)
    if table is None:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return unique_edges(table.column("src").to_numpy(), table.column("dst").to_numpy())


def star_round(output: str, cc_dir: str, r: int, q: int, files: list[str], old_files, partitions: int) -> dict:
    """Task: one round for partition q. `changed` says whether q's input differs from `old_files`' (its input
    two rounds ago; None: not compared)."""
    fs, _ = storage.filesystem(output)
    folder = round_dir(cc_dir, r + 1)
    marker = storage.join(folder, "done", f"task-{q:06d}.json")
    if fs.exists(marker):
        return storage.read_json(fs, marker)
    src, dst = read_input(fs, files)
    changed = True
    if old_files is not None:
        old_src, old_dst = read_input(fs, old_files)
        changed = not (np.array_equal(src, old_src) and np.array_equal(dst, old_dst))
    a, b = (large_star if r % 2 == 0 else small_star)(src, dst)
    return _commit_round(fs, folder, q, a, b, partitions, {"changed": changed, "edges_in": int(src.size)})


def removals(output: str, q: int, files: list[str], removed_dir: str, work: str, min_jaccard: float) -> list:
    """Task: at the fixed point, every node of partition q that is not its component's root is removed;
    with `min_jaccard` > 0, only if its signature still agrees that much with the root's (the kept one).
    Returns [removal file, bytes in memory]."""
    fs, _ = storage.filesystem(output)
    final = storage.join(removed_dir, f"part-{q:06d}.parquet")
    nbytes = shuffle.committed_nbytes(fs, final)
    if nbytes is not None:
        return [final, nbytes]
    nodes, roots = star_roots(*read_input(fs, files))
    removed, kept_as = nodes[roots < nodes], roots[roots < nodes]
    if min_jaccard > 0 and removed.size:
        close = agreement(fs, work, removed, kept_as) >= min_jaccard
        removed, kept_as = removed[close], kept_as[close]
    table = pa.table({"doc_id": pa.array(removed, pa.int64()), "duplicate_of": pa.array(kept_as, pa.int64())})
    return [final, shuffle.write_parquet(fs, final, table)]
