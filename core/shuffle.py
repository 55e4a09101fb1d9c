"""The one shuffle of the corpus stages: rows go from many files to buckets, and each bucket to one task.

A row's bucket comes from its 64-bit hash `key` (a key range per bucket: `(key >> 32) * buckets >> 32`), or
for removal lists from the input file its `doc_id` names (a range of consecutive parts per bucket), so a
bucket's rows can be cut into finer buckets later without moving any row to another coarse bucket.

Sizing (`make_plan`), from the bytes the input rows take in memory (which the step before reports) and the
data budget of one task: `buckets = ceil(total / budget)` unless the stage names a count, and no task of any
pass reads more than `budget` bytes. A task writes at most `max_fan_out` files, so more buckets than that are
made in several passes, a radix split (pass 0 cuts the key space into f ranges, pass 1 each range into f
sub-ranges...). That keeps files large: with D bytes and a budget m, one pass writes (D/m)^2 files of
m^2/D bytes each (16 M files of 128 KB for 2 TB of tokens and 512 MB tasks); two passes write about
2 (D/m) f files of m/f bytes (0.5 M files of 8 MB).

Layout under the step's folder:

    plan.json                                   the step manifest: input count and bytes, the plan
    pass-P/bucket-BBBBBB/part-TTTTTT.parquet    rows of bucket B (at pass P's resolution) from task T
    pass-P/done/task-TTTTTT.json                task T's commit marker: rows and bytes per bucket written
    _SUCCESS.json                               the step's commit marker: the files of every final bucket

A reduce task is handed its bucket's files (and their bytes) by the driver: it lists nothing. Every task
commits its files, then its marker, and returns what the marker says when it finds it, so a re-run redoes
only what was not committed; the plan is read back from plan.json, so it never changes mid-step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core import storage

MAX_FAN_OUT = 64  # files one task writes per pass: at 512 MB a task that is >= 8 MB a file
MAX_FILES_PER_TASK = 1000  # inputs one task reads: bounds its request count (and its time on object storage)
NBYTES_KEY = b"nbytes"  # Parquet footer metadata: the bytes the table takes in memory, for sizing


@dataclass(frozen=True)
class BucketBy:
    """How a row finds its bucket: by a uint64 hash `column` (key ranges), or, when `parts` > 0, by the input
    file its doc_id names (ranges of consecutive file indices out of `parts`)."""

    column: str = "key"
    parts: int = 0

    def final_buckets(self, table: pa.Table, buckets: int) -> np.ndarray:
        """Each row's final bucket (uint64; computed in place: a task holds one extra array, not four)."""
        if self.parts:
            index = table.column("doc_id").to_numpy() >> 32
            return (index * buckets // self.parts).astype(np.uint64)
        b = table.column(self.column).to_numpy().astype(np.uint64)  # a copy: chunks joined, ours to change
        b >>= np.uint64(32)
        b *= np.uint64(buckets)
        b >>= np.uint64(32)
        return b

    def parts_of_bucket(self, bucket: int, buckets: int) -> range:
        """The file indices whose rows land in `bucket` (with `parts` set): i * buckets // parts == bucket."""
        return range(-(-bucket * self.parts // buckets), -(-(bucket + 1) * self.parts // buckets))


@dataclass(frozen=True)
class Plan:
    buckets: int
    fan_outs: tuple[int, ...]  # buckets made per pass; their product is `buckets`
    budget: int  # bytes of rows one task may read

    def stride(self, pass_index: int) -> int:
        """Final buckets per bucket of this pass's output."""
        return math.prod(self.fan_outs[pass_index + 1 :])


def make_plan(total_bytes: int, budget: int, buckets: int = 0, min_buckets: int = 1) -> Plan:
    """Buckets from the data and the passes that make them; a stage's explicit count is made in one pass."""
    if buckets:
        return Plan(buckets, (buckets,), budget)
    n = max(min_buckets, math.ceil(total_bytes / budget), 1)
    passes = 1 if n <= MAX_FAN_OUT else math.ceil(math.log(n) / math.log(MAX_FAN_OUT) - 1e-9)
    if passes == 1:
        return Plan(n, (n,), budget)
    f = math.ceil(n ** (1 / passes))
    while (f - 1) ** passes >= n:  # float rounding can overshoot by one
        f -= 1
    return Plan(f**passes, (f,) * passes, budget)


def groups(files: list[tuple[str, int]], budget: int) -> list[list[tuple[str, int]]]:
    """Consecutive files, at most `budget` bytes (but at least one file) and MAX_FILES_PER_TASK each."""
    out, current, size = [], [], 0
    for path, nbytes in files:
        if current and (size + nbytes > budget or len(current) >= MAX_FILES_PER_TASK):
            out.append(current)
            current, size = [], 0
        current.append((path, nbytes))
        size += nbytes
    return out + [current] if current else out


def shuffle(ctx, name: str, inputs: list[tuple[str, int]], by: BucketBy, buckets: int = 0, min_buckets: int = 1):
    """Run the passes of one shuffle with `ctx.map`; returns (plan, files) where files[b] lists the
    (path, bytes) of final bucket b. `inputs` are (path, bytes in memory) of Parquet files to split."""
    fs, _ = storage.filesystem(ctx.output)
    step = storage.join(ctx.work, name)
    success = storage.join(step, "_SUCCESS.json")
    if fs.exists(success):
        done = storage.read_json(fs, success)
        return Plan(done["plan"]["buckets"], tuple(done["plan"]["fan_outs"]), done["plan"]["budget"]), done["files"]
    plan = _load_or_make_plan(fs, step, inputs, ctx.task_bytes, buckets, min_buckets)
    by_bucket = {0: [tuple(f) for f in inputs]}
    for p in range(len(plan.fan_outs)):
        by_bucket = _run_pass(ctx, storage.join(step, f"pass-{p}"), by_bucket, plan, p, by)
    files = [[list(f) for f in by_bucket.get(b, [])] for b in range(plan.buckets)]
    storage.write_json(fs, success, {"plan": asdict(plan), "files": files})
    return plan, files


def _load_or_make_plan(fs, step: str, inputs, budget: int, buckets: int, min_buckets: int) -> Plan:
    path = storage.join(step, "plan.json")
    if fs.exists(path):
        recorded = storage.read_json(fs, path)["plan"]
        return Plan(recorded["buckets"], tuple(recorded["fan_outs"]), recorded["budget"])
    total = sum(n for _, n in inputs)
    plan = make_plan(total, budget, buckets, min_buckets)
    storage.write_json(fs, path, {"inputs": len(inputs), "input_bytes": total, "plan": asdict(plan)})
    return plan


def _run_pass(ctx, folder: str, by_bucket: dict, plan: Plan, p: int, by: BucketBy) -> dict:
    """One pass: every bucket of the previous pass is cut into fan_outs[p] finer ones by tasks of at most the
    budget; returns bucket -> [(path, bytes)] at this pass's resolution, in task order."""
    tasks = [g for b in sorted(by_bucket) for g in groups(by_bucket[b], plan.budget)]
    args = [(ctx.output, folder, t, [f for f, _ in g], plan.buckets, plan.stride(p), by) for t, g in enumerate(tasks)]
    results = ctx.map(split_files, args)
    out: dict[int, list[tuple[str, int]]] = {}
    for t, written in enumerate(results):
        for bucket, (_, nbytes) in sorted((int(b), v) for b, v in written.items()):
            out.setdefault(bucket, []).append((bucket_file(folder, bucket, t), nbytes))
    return out


def bucket_file(folder: str, bucket: int, task: int) -> str:
    return storage.join(folder, f"bucket-{bucket:06d}", f"part-{task:06d}.parquet")


def split_files(output: str, folder: str, task: int, files: list[str], buckets: int, stride: int, by: BucketBy):
    """Task: read `files`, write their rows by bucket (final bucket // stride), commit a marker; returns
    {bucket: [rows, bytes]}."""
    fs, _ = storage.filesystem(output)
    marker = storage.join(folder, "done", f"task-{task:06d}.json")
    if fs.exists(marker):
        return storage.read_json(fs, marker)
    table = read_tables(fs, files)
    written = {}
    if table is not None and table.num_rows:
        written = write_buckets(fs, folder, task, table, _buckets_of(table, by, buckets, stride))
    storage.write_json(fs, marker, written)
    return written


def _buckets_of(table: pa.Table, by: BucketBy, buckets: int, stride: int) -> np.ndarray:
    """This pass's bucket of every row, in the narrowest unsigned type that holds it."""
    b = by.final_buckets(table, buckets)
    if stride > 1:
        b //= np.uint64(stride)
    return b.astype(np.uint16 if buckets // stride <= 1 << 16 else np.uint32)


def write_buckets(fs, folder: str, task: int, table: pa.Table, bucket_of_row: np.ndarray) -> dict:
    """Write `table`'s rows to one file per bucket that has any; returns {bucket: [rows, bytes]}. Holds the
    table, the bucket array and one bucket's copy at a time (and, past MAX_FAN_OUT buckets, a sort order)."""
    first, last = int(bucket_of_row.min()), int(bucket_of_row.max())
    if first == last:  # one bucket (a small corpus, or a fine pass): the table as it is
        return {str(first): [table.num_rows, write_parquet(fs, bucket_file(folder, first, task), table)]}
    written = {}
    for bucket, rows in _rows_by_bucket(bucket_of_row, first, last):
        part = table.take(pa.array(rows))
        written[str(bucket)] = [len(rows), write_parquet(fs, bucket_file(folder, bucket, task), part)]
    return written


def _rows_by_bucket(bucket_of_row: np.ndarray, first: int, last: int):
    """(bucket, its row indices) for every bucket that has rows, in bucket order: one scan per bucket while
    they are few (no sort order held), a stable sort beyond MAX_FAN_OUT."""
    if last - first < MAX_FAN_OUT:
        for bucket in range(first, last + 1):
            rows = np.flatnonzero(bucket_of_row == bucket)
            if rows.size:
                yield bucket, rows
        return
    order = np.argsort(bucket_of_row, kind="stable")
    counts = np.bincount(bucket_of_row.astype(np.int64) - first)
    start = 0
    for offset, count in enumerate(counts.tolist()):
        if count:
            yield first + offset, order[start : start + count]
            start += count


def read_tables(fs, files: list[str], columns: list[str] | None = None) -> pa.Table | None:
    """The rows of `files`, in order (None when there are none)."""
    tables = [pq.read_table(f, columns=columns, filesystem=fs) for f in files]
    tables = [t for t in tables if t.num_rows]
    return pa.concat_tables(tables) if tables else None


def write_parquet(fs, final: str, table: pa.Table) -> int:
    """Commit `table` as zstd Parquet, recording its in-memory size in the footer; returns that size."""
    nbytes = table.nbytes
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), NBYTES_KEY: str(nbytes).encode()})
    with storage.open_for_commit(fs, final) as f:
        pq.write_table(table, f, compression="zstd")
    return nbytes


def write_parquet_chunks(fs, final: str, schema: pa.Schema, chunks) -> int:
    """Commit the tables of `chunks` (an iterable) as one zstd Parquet file, one row group each or more, holding
    one chunk at a time; records their total in-memory size in the footer and returns it."""
    nbytes = 0
    with storage.open_for_commit(fs, final) as f, pq.ParquetWriter(f, schema, compression="zstd") as writer:
        for table in chunks:
            nbytes += table.nbytes
            writer.write_table(table.cast(schema))
        writer.add_key_value_metadata({NBYTES_KEY: str(nbytes).encode()})
    return nbytes


def committed_nbytes(fs, path: str) -> int | None:
    """The in-memory size `write_parquet` recorded, or None if `path` is not committed."""
    try:
        meta = pq.read_metadata(path, filesystem=fs).metadata or {}
    except FileNotFoundError:
        return None
    return int(meta.get(NBYTES_KEY, b"0"))
