"""One input file through every per-document stage, committed atomically with its stats.

This is the unit of work and of retry (one Ray task each, see engine.py), and it knows nothing of Ray.
It streams: records are read, batched (`batch_size` records or `max_batch_mb` of payload, whichever
first), pushed through the stages, and written, so memory does not grow with the file.

Commit order: kept documents, dropped samples, then the stats JSON. The stats file is the commit
marker: a file whose stats exist is done and is skipped by a re-run; anything else is redone.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import quarantine, storage, watchdog
from core.batch import (
    ERROR_PREFIX,
    READ_SCHEMA,
    SAMPLE_SCHEMA,
    SAMPLE_TEXT_CHARS,
    doc_bytes,
    from_rows,
    output_columns,
    split_dropped,
)
from core.record_guard import RecordGuard, hard_cpu_limit_s
from core.registry import REGISTRY
from core.retry import RetryPolicy
from core.stats import FileStats, StageStats
from pipeline.config import PipelineConfig
from pipeline.progress import Throttled
from pipeline.steps import build_steps, measure
from readers.warc import UnsupportedInput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartPaths:
    docs: str
    dropped: str
    stats: str

    @classmethod
    def for_index(cls, output: str, index: int, docs_folder: str = "docs") -> PartPaths:
        name = f"part-{index:06d}"
        return cls(
            docs=storage.join(output, docs_folder, f"{name}.parquet"),
            dropped=storage.join(output, "dropped", f"{name}.parquet"),
            stats=storage.join(output, "stats", f"{name}.json"),
        )

    @property
    def stats_name(self) -> str:
        return self.stats.rsplit("/", 1)[-1]


def process_file(file_index: int, path: str, config: PipelineConfig, progress=None) -> dict:
    """Run the per-document stages over one input file and commit its outputs. Returns the stats dict.

    A transient failure of a remote read is retried where it happened; one that escapes (a write to object
    storage failing for longer than s3fs retries) redoes the whole file, which is safe because nothing is
    committed before the end. Every retry is counted in the file's stats. `progress(index, path, records, kept,
    bytes read, file size)`, if given, hears how far the file is every few seconds (pipeline/progress.py)."""
    retry = io_retry_policy(config)
    return retry.call(f"file {path}", _process_file_once, file_index, path, config, retry, progress)


def io_retry_policy(config: PipelineConfig) -> RetryPolicy:
    return RetryPolicy(attempts=config.options.io_attempts, first_delay_s=config.options.io_retry_delay_s)


def _process_file_once(file_index: int, path: str, config: PipelineConfig, retry: RetryPolicy, progress) -> dict:
    output = config.options.output
    fs, _ = storage.filesystem(output)
    parts = PartPaths.for_index(output, file_index, config.per_file_docs_folder)
    source_spec, *map_specs = [s for s in config.stages if s not in config.corpus_stages]
    reader = REGISTRY.get(source_spec.name).build(source_spec.config)
    steps = build_steps(map_specs)
    stats = FileStats(file=path, file_index=file_index)
    stats.stages = [StageStats(spec.name) for spec in [source_spec, *map_specs]]
    out_schema = _output_schema(steps)
    quarantined = quarantine.load(quarantine.path_for(output, file_index))  # one request; empty but on a retry
    stats.quarantined = [quarantined[o] for o in sorted(quarantined)]
    skip = {ordinal: quarantine.error_kind(entry) for ordinal, entry in quarantined.items()}
    with contextlib.ExitStack() as stack:
        guard = stack.enter_context(_record_guard(config, path, file_index, [s.name for s in stats.stages]))
        docs_out = stack.enter_context(_parquet_writer(fs, stack, parts.docs, out_schema))
        drops_out = stack.enter_context(_parquet_writer(fs, stack, parts.dropped, SAMPLE_SCHEMA))
        sink = _Sinks(docs_out, drops_out, config.options.drop_samples_per_reason, out_schema)
        report = _reporter(progress, file_index, path, reader, stats)
        try:
            for batch, read_seconds in _batches(reader, path, file_index, config, retry, guard, skip):
                _run_batch(batch, read_seconds, steps, stats, sink, guard)
                report()
        except UnsupportedInput as e:
            stats.status, stats.message = "error", str(e)
        report(final=True)
    stats.record_types = dict(sorted(reader.record_types.items()))
    stats.io_retries = dict(sorted(retry.retried.items()))
    storage.write_json(fs, parts.stats, stats.to_dict())
    return stats.to_dict()


@contextlib.contextmanager
def _record_guard(config: PipelineConfig, path: str, file_index: int, stage_names: list[str]):
    """The file's RecordGuard, with a watchdog process (core/watchdog.py) unless the run turned it off."""
    options = config.options
    watch = None
    if options.record_watchdog and watchdog.available():
        try:
            watch = watchdog.RecordWatch(
                path,
                stage_names,
                quarantine.path_for(options.output, file_index),
                cpu_limit_s=hard_cpu_limit_s(options.record_cpu_budget_s),
                memory_limit_mb=watchdog.memory_ceiling_mb(options.max_task_memory_mb),
            )
        except OSError as e:  # no temporary folder, no process to spare: the file runs with the soft limits only
            log.warning("%s: no record watchdog (%s: %s); soft per-record limits only", path, type(e).__name__, e)
    try:
        yield RecordGuard(options.record_cpu_budget_s, watch, tuple(stage_names))
    finally:
        if watch is not None:
            watch.close()


def _reporter(progress, file_index: int, path: str, reader, stats: FileStats):
    """report(final=False): tell `progress` how far this file is, at most every few seconds unless final."""
    if progress is None:
        return lambda final=False: None
    throttled = Throttled(progress)

    def report(final: bool = False) -> None:
        values = (file_index, path, stats.records_read, stats.kept, *reader.position)
        if final:
            progress(*values)
        else:
            throttled(*values)

    return report


def _parquet_writer(fs, stack: contextlib.ExitStack, final: str, schema: pa.Schema) -> pq.ParquetWriter:
    """A Parquet writer whose file appears at `final` once the stack closes writer and file without an error."""
    sink = stack.enter_context(storage.open_for_commit(fs, final))
    return pq.ParquetWriter(sink, schema, compression="zstd")


class _Sinks:
    """Kept documents go to one Parquet file; dropped ones to a sample, first N per reason (deterministic)."""

    def __init__(self, docs_out, drops_out, samples_per_reason: int, out_schema: pa.Schema):
        self.docs_out, self.drops_out = docs_out, drops_out
        self.samples_per_reason = samples_per_reason
        self.sampled: dict[str, int] = {}
        self.out_schema = out_schema

    def keep(self, table: pa.Table) -> None:
        if table.num_rows:
            self.docs_out.write_table(output_columns(table).select(self.out_schema.names).cast(self.out_schema))

    def sample_dropped(self, table: pa.Table) -> None:
        picked = []
        for i, reason in enumerate(table.column("drop_reason").to_pylist()):
            if self.sampled.get(reason, 0) < self.samples_per_reason:
                self.sampled[reason] = self.sampled.get(reason, 0) + 1
                picked.append(i)
        if picked:
            rows = table.take(picked)
            text = pc.utf8_slice_codeunits(rows.column("text"), 0, SAMPLE_TEXT_CHARS)
            rows = rows.set_column(rows.column_names.index("text"), "text", text)
            self.drops_out.write_table(rows.select(SAMPLE_SCHEMA.names).cast(SAMPLE_SCHEMA))


def _batches(reader, path: str, file_index: int, config: PipelineConfig, retry: RetryPolicy, guard, skip):
    """Group the reader's rows into batches bounded by count and payload bytes; time spent reading rides along.
    The watchdog is told which record the reader is on (a record that kills the task there is skipped unread
    by the retry: `skip`)."""
    max_rows, max_bytes = config.options.batch_size, config.options.max_batch_mb << 20
    rows, size, started = [], 0, time.perf_counter()
    for row in _watched(reader, reader(path, file_index, retry, skip), file_index, guard):
        rows.append(row)
        size += len(row["html"] or b"") + len(row["text"] or "")
        if len(rows) >= max_rows or size >= max_bytes:
            yield from_rows(rows), time.perf_counter() - started
            rows, size, started = [], 0, time.perf_counter()
    if rows:
        yield from_rows(rows), time.perf_counter() - started


def _watched(reader, rows, file_index: int, guard: RecordGuard):
    """The reader's rows, the watchdog told of each record before the reader works on it."""
    while True:
        guard.enter((file_index << 32) | reader.next_ordinal, "read")
        try:
            row = next(rows)
        except StopIteration:
            return
        finally:
            guard.leave()
        yield row


def _run_batch(batch: pa.Table, read_seconds: float, steps, stats: FileStats, sink: _Sinks, guard) -> None:
    errors = pc.is_valid(batch.column("error"))
    for kind in batch.filter(errors).column("error").to_pylist():
        stats.errors[kind] = stats.errors.get(kind, 0) + 1
    stats.records_read += batch.num_rows
    batch = batch.filter(pc.invert(errors))
    read_stats = measure(stats.stages[0].name, batch, batch, read_seconds)  # the reader set its own drops
    live = _account(batch, batch, [read_stats], stats, sink)
    for step in steps:
        after, step_stats = step(live, guard)
        live = _account(live, after, step_stats, stats, sink)
    guard.end_batch()
    stats.kept += live.num_rows
    stats.kept_bytes += doc_bytes(live)
    sink.keep(live)


def _account(before: pa.Table, after: pa.Table, step_stats: list[StageStats], stats: FileStats, sink) -> pa.Table:
    """Merge a step's counters into the file's, sample its drops, and return the rows still alive."""
    if after.num_rows != before.num_rows:
        raise RuntimeError(
            f"stage {step_stats[0].name} returned {after.num_rows} rows for {before.num_rows}: "
            "stages must mark drops in drop_reason, not remove rows"
        )
    live, dropped = split_dropped(after)
    by_name = {s.name: s for s in stats.stages}
    for s in step_stats:
        by_name[s.name].merge(s)
    for reason in dropped.column("drop_reason").to_pylist():
        _count_reason(stats, reason)
    sink.sample_dropped(dropped)
    return live


def _count_reason(stats: FileStats, reason: str) -> None:
    """A drop, or a record a stage could not handle (`error:<stage>.<problem>`): an error of the file's."""
    if reason.startswith(ERROR_PREFIX):
        kind = reason[len(ERROR_PREFIX) :]
        stats.errors[kind] = stats.errors.get(kind, 0) + 1
    else:
        stats.dropped[reason] = stats.dropped.get(reason, 0) + 1


def _output_schema(steps) -> pa.Schema:
    """The kept-documents schema: what the stages make of an empty batch (every stage must accept one)."""
    table = READ_SCHEMA.empty_table()
    for step in steps:
        table, _ = step(table, RecordGuard())
    return output_columns(table).schema
