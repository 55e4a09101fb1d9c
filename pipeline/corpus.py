"""Corpus stages (dedup): stages that need more than one document at a time, run after the per-file pass.

Each corpus stage reads the committed parts of the stage before it (`work/filtered/part-N.parquet` after
the per-file pass) and writes its own (`work/<stage>/part-N.parquet`, or `docs/` for the last one), with
per-part stats, so the report counts it like any other stage and the conservation law still holds per
input file. A stage is a class registered with kind="corpus" whose `run(ctx)` calls `ctx.map(fn, args)`
for every parallel step: `ctx.map` is Ray in the engine and a plain loop in tests; stage code never
imports ray. Every step commits its outputs atomically with a marker and is skipped when the marker is
there, so a killed run resumes where it stopped; a stage's manifest records its config and the inputs
it read, and a re-run with a different config or upstream is refused.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from pipeline import storage
from pipeline.config import ConfigError
from pipeline.stats import StageStats

MapFn = Callable[[Callable, list[tuple]], list]


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


def commit_marker(fs, marker: str, info: dict) -> None:
    storage.write_json(fs, marker, info)


def read_removed(fs, removal_files: list[str], index: int) -> pa.Table:
    """Removed (doc_id, reason) rows of one input file, from removal files partitioned by another key."""
    if not removal_files:
        return pa.table({"doc_id": pa.array([], pa.int64()), "reason": pa.array([], pa.string())})
    dataset = ds.dataset(removal_files, format="parquet", filesystem=fs)
    lo, hi = index << 32, (index + 1) << 32
    return dataset.to_table(filter=(ds.field("doc_id") >= lo) & (ds.field("doc_id") < hi))


def filter_with_removals(dirs: StageDirs, index: int, part: str, removal_files: list[str]) -> dict:
    """Task: write part `index` without the documents the removal files list, then commit its stats."""
    fs, _ = storage.filesystem(dirs.output)
    if fs.exists(dirs.stats_path(index)):
        return storage.read_json(fs, dirs.stats_path(index))
    started = time.perf_counter()
    removed = read_removed(fs, removal_files, index)
    docs = pq.read_table(part, filesystem=fs)
    is_removed = pc.is_in(docs.column("doc_id"), value_set=removed.column("doc_id"))
    reason_of = dict(zip(removed.column("doc_id").to_pylist(), removed.column("reason").to_pylist()))
    dropped = docs.filter(is_removed)
    reasons = [reason_of[i] for i in dropped.column("doc_id").to_pylist()]
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
    from pipeline.filepass import SAMPLE_SCHEMA, SAMPLE_TEXT_CHARS

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
    with storage.atomic_path(fs, final) as tmp:
        with fs.open(tmp, "wb") as f:
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
