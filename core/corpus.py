"""Corpus stages (dedup): stages that need more than one document at a time, run after the per-file pass.

Each corpus stage reads the committed parts of the stage before it (`work/filtered/part-N.parquet` after
the per-file pass) and writes its own (`work/<stage>/part-N.parquet`, or `docs/` for the last one), with
per-part stats, so the report counts it like any other stage and the conservation law still holds per
input file. A stage is a class registered with kind="corpus" whose `run(ctx)` calls `ctx.step(name, fn,
args)` for every parallel step: `ctx.map` is Ray in the engine and a plain loop in tests; stage code never
imports ray. Every task commits its outputs atomically with a marker and is skipped when the marker is
there, and every step has one marker holding its tasks' results, so a killed run resumes where it stopped
and the driver skips a finished step with one read; a stage's manifest records its config and the inputs
it read, and a re-run with a different config or upstream is refused.

Data moves between tasks through `core.shuffle`, sized from the data so that no task holds more than
`task_bytes` of rows (derived from `max_task_memory_mb`). What a stage removes goes to each part through
`removals_by_part`: a filter task reads its own part's removals and nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import shuffle, storage
from core.batch import SAMPLE_SCHEMA, SAMPLE_TEXT_CHARS
from core.errors import ConfigError
from core.stats import StageStats

MapFn = Callable[[Callable, list[tuple]], list]

# What one corpus task may hold, from the worker memory a user gives (`max_task_memory_mb`): an idle Ray
# worker with pyarrow and numpy loaded takes WORKER_BASELINE_MB, and a task holds up to COPY_FACTOR times the
# rows it reads (the rows, a sorted copy, the slices it writes). Both measured by bench/perf/scale.py.
WORKER_BASELINE_MB = 500
COPY_FACTOR = 4
DEFAULT_TASK_MEMORY_MB = 1500  # Ray's default worker on a 1.5 GB-per-CPU node


def task_data_bytes(max_task_memory_mb: int) -> int:
    """Bytes of rows one task may read so that it stays under `max_task_memory_mb` (at least 1 MB)."""
    return max(1 << 20, ((max_task_memory_mb - WORKER_BASELINE_MB) << 20) // COPY_FACTOR)


@dataclass(frozen=True)
class StageDirs:
    """Where a corpus stage works and writes (picklable: it travels to the stage's tasks)."""

    name: str
    output: str
    work: str  # this stage's scratch folder: output/work/<name>
    final_folder: str  # where its parts go: output/work/<name>/docs, or output/docs for the last stage
    samples_per_reason: int = 20  # removed documents kept as samples in dropped/<name>/, per reason and part

    def part_out(self, index: int) -> str:
        return storage.join(self.final_folder, f"part-{index:06d}.parquet")

    def stats_path(self, index: int) -> str:
        return storage.join(self.work, "stats", f"part-{index:06d}.json")

    def samples_path(self, index: int) -> str:
        return storage.join(self.output, "dropped", self.name, f"part-{index:06d}.parquet")


@dataclass
class CorpusContext:
    """What a corpus stage needs: its folders, its input parts, and a way to run steps in parallel."""

    dirs: StageDirs
    parts: list[tuple[int, str]]  # (input-file index, part written by the previous stage)
    map: MapFn
    task_bytes: int = task_data_bytes(DEFAULT_TASK_MEMORY_MB)  # rows one task may read (shuffle sizing)

    def step(self, name: str, fn: Callable, args_list: list[tuple]) -> list:
        """One parallel step (a task per args), skipped with one read when its marker is there; the marker
        holds the tasks' results (JSON), so a re-run gets them back without running or reading any task."""
        fs, _ = storage.filesystem(self.output)
        marker = storage.join(self.work, "steps", f"{name}.json")
        if fs.exists(marker):
            return storage.read_json(fs, marker)["results"]
        results = self.map(fn, args_list)
        storage.write_json(fs, marker, {"tasks": len(args_list), "results": results})
        return results

    @property
    def work(self) -> str:
        return self.dirs.work

    @property
    def output(self) -> str:
        return self.dirs.output


def check_manifest(fs, ctx: CorpusContext, config) -> None:
    """Write this stage's manifest, or refuse if an earlier run left one for another config or upstream."""
    manifest = {
        "stage": ctx.dirs.name,
        "config": json.loads(json.dumps(dataclasses.asdict(config), default=str)),
        "inputs": [p.removeprefix(ctx.output.rstrip("/") + "/") for _, p in ctx.parts],  # movable output
    }
    path = storage.join(ctx.work, "manifest.json")
    if fs.exists(path):
        if storage.read_json(fs, path) != manifest:
            raise ConfigError(f"{path}: written by a run with another config or upstream; use a new --output")
        return
    storage.makedirs(fs, ctx.work)
    storage.write_json(fs, path, manifest)


def removals_by_part(ctx: CorpusContext, removal_files: list[tuple[str, int]]) -> dict[int, str]:
    """Shuffle removal rows (`doc_id`, maybe `duplicate_of`) to the part their doc_id names: one file per
    part, so a filter task reads only its own. `removal_files` are (path, bytes) of the stage's reduce
    outputs; returns part index -> its removal file."""
    parts = max((i for i, _ in ctx.parts), default=-1) + 1
    by = shuffle.BucketBy(parts=parts)
    min_buckets = -(-parts // shuffle.MAX_FILES_PER_TASK)  # a task writes at most that many part files
    plan, files = shuffle.shuffle(ctx, "removals", removal_files, by, min_buckets=min_buckets)
    folder = storage.join(ctx.work, "removals", "by_part")
    args = [
        (ctx.output, folder, b, [f for f, _ in files[b]], list(by.parts_of_bucket(b, plan.buckets)))
        for b in range(plan.buckets)
    ]
    ctx.step("removals_by_part", write_part_removals, args)
    return {i: part_removals_path(folder, i) for i, _ in ctx.parts}


def part_removals_path(folder: str, index: int) -> str:
    return storage.join(folder, f"part-{index:06d}.parquet")


def write_part_removals(output: str, folder: str, bucket: int, files: list[str], part_indices: list[int]) -> int:
    """Task: one removal file for every part of this bucket (empty ones too), sorted by doc_id."""
    fs, _ = storage.filesystem(output)
    marker = storage.join(folder, "done", f"bucket-{bucket:06d}.json")
    if fs.exists(marker):
        return storage.read_json(fs, marker)["rows"]
    table = shuffle.read_tables(fs, files)
    if table is None:
        table = pa.table({"doc_id": pa.array([], pa.int64())})
    table = table.take(pc.sort_indices(table, sort_keys=[("doc_id", "ascending")]))
    index = table.column("doc_id").to_numpy() >> 32
    for i in part_indices:
        lo, hi = np.searchsorted(index, [i, i + 1])
        write_part(fs, part_removals_path(folder, i), table.slice(lo, hi - lo))
    storage.write_json(fs, marker, {"rows": table.num_rows})
    return table.num_rows


def filter_with_removals(dirs: StageDirs, index: int, part: str, removals: str, reason: str) -> dict:
    """Task: write part `index` without the documents its removal file lists, then commit its stats."""
    fs, _ = storage.filesystem(dirs.output)
    if fs.exists(dirs.stats_path(index)):
        return storage.read_json(fs, dirs.stats_path(index))
    started = time.perf_counter()
    removed = pq.read_table(removals, columns=["doc_id"], filesystem=fs).column("doc_id")
    docs = pq.read_table(part, filesystem=fs)
    is_removed = pc.is_in(docs.column("doc_id"), value_set=removed)
    dropped = docs.filter(is_removed)
    reasons = [reason] * dropped.num_rows
    return commit_part(fs, dirs, index, docs, docs.filter(pc.invert(is_removed)), dropped, reasons, started)


def commit_part(
    fs,
    dirs: StageDirs,
    index: int,
    before: pa.Table,
    kept: pa.Table,
    dropped: pa.Table,
    reasons: list[str],
    started: float,
) -> dict:
    """Commit one part of a corpus stage: kept documents, a sample of the dropped ones, then the stats."""
    write_part(fs, dirs.part_out(index), kept)
    write_part(fs, dirs.samples_path(index), _samples(dropped, reasons, dirs.samples_per_reason))
    return commit_part_stats(fs, dirs, index, before, kept, reasons, started)


def _samples(dropped: pa.Table, reasons: list[str], per_reason: int) -> pa.Table:
    taken: dict[str, int] = {}
    picked = []
    for i, reason in enumerate(reasons):
        if taken.get(reason, 0) < per_reason:
            taken[reason] = taken.get(reason, 0) + 1
            picked.append(i)
    rows = dropped.take(pa.array(picked, pa.int64()))
    columns = {
        name: rows.column(name) if name in rows.column_names else pa.nulls(len(picked), field.type)
        for name, field in zip(SAMPLE_SCHEMA.names, SAMPLE_SCHEMA)
    }
    columns["drop_reason"] = pa.array([reasons[i] for i in picked], pa.string())
    columns["text"] = pc.utf8_slice_codeunits(columns["text"], 0, SAMPLE_TEXT_CHARS)
    return pa.table(columns).cast(SAMPLE_SCHEMA)


def write_part(fs, final: str, table: pa.Table) -> None:
    with storage.open_for_commit(fs, final) as f:
        pq.write_table(table, f, compression="zstd")


def commit_part_stats(fs, dirs: StageDirs, index: int, before: pa.Table, after: pa.Table, reasons, started):
    stats = StageStats(dirs.name, docs_in=before.num_rows, docs_out=after.num_rows)
    stats.bytes_in, stats.bytes_out = text_bytes(before), text_bytes(after)
    stats.count_drops(reasons)
    stats.seconds = time.perf_counter() - started
    storage.write_json(fs, dirs.stats_path(index), stats.to_dict())
    return stats.to_dict()


def text_bytes(table: pa.Table) -> int:
    if table.num_rows == 0:
        return 0
    return int(pc.sum(pc.binary_length(table.column("text"))).as_py() or 0)
