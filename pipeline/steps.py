"""The per-document stages of a config as steps: each step takes the live batch and returns it with drop
reasons set, plus the counters of the stage(s) it ran.

A map stage (a function or a class over a pyarrow batch) is one step. A run of consecutive heuristic
filters (kind "filter") is one `FilterChain` step, so each document is tokenized once for all of them.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from typing import Callable

import pyarrow as pa

from core.batch import doc_bytes, error_reason, split_dropped, with_drop_reasons
from core.contracts import Signal
from core.record_guard import RecordGuard
from core.registry import REGISTRY
from core.stats import StageStats
from filters.chain import FilterChain
from pipeline.config import StageSpec

Step = Callable[..., tuple[pa.Table, list[StageStats]]]  # (batch, guard) -> (batch, counters)
log = logging.getLogger(__name__)


class MapStep:
    def __init__(self, name: str, stage: Callable[[pa.Table], pa.Table], signals: tuple[Signal, ...] = ()):
        self.name, self.stage, self.signals = name, stage, signals
        self.takes_guard = "guard" in inspect.signature(stage).parameters  # works record by record

    def __call__(self, batch: pa.Table, guard: RecordGuard | None = None) -> tuple[pa.Table, list[StageStats]]:
        started = time.perf_counter()
        after = self._isolated(batch, guard)
        stats = measure(self.name, batch, after, time.perf_counter() - started)
        for signal in self.signals:  # the columns its contract says the report draws
            stats.count_signal(signal.column, after.column(signal.column).to_pylist())
        return after, [stats]

    def _isolated(self, batch: pa.Table, guard: RecordGuard | None) -> pa.Table:
        """The stage over the batch; if it raises, over each half, down to the records that raise, which become
        errors (`<stage>.exception`) while the others go on (2 x the batch's work for one bad record). A stage
        that fails on every record (a missing model, a bug) is not a record's fault: its exception propagates."""
        try:
            return self._call(batch, guard)
        except Exception:
            if batch.num_rows <= 1:
                raise
            log.warning("%s raised on a batch: looking for the record that raises", self.name, exc_info=True)
        out, failed = self._bisect(batch, guard)
        if failed == batch.num_rows:
            return self._call(batch, guard)  # raises again
        return out

    def _bisect(self, batch: pa.Table, guard: RecordGuard | None) -> tuple[pa.Table, int]:
        """(the stage's output with the records that raise marked as errors, how many raised)."""
        try:
            return self._call(batch, guard), 0
        except Exception:
            if batch.num_rows == 1:
                return self._errored(batch), 1
        half = batch.num_rows // 2
        parts = [self._bisect(batch.slice(0, half), guard), self._bisect(batch.slice(half), guard)]
        return pa.concat_tables([t for t, _ in parts], promote_options="permissive"), sum(n for _, n in parts)

    def _call(self, batch: pa.Table, guard: RecordGuard | None) -> pa.Table:
        return self.stage(batch, guard=guard) if self.takes_guard else self.stage(batch)

    def _errored(self, row: pa.Table) -> pa.Table:
        """A record the stage raised on, as an error, with the stage's output columns (null)."""
        template = self.stage(row.slice(0, 0))
        for field in template.schema:
            if field.name not in row.column_names:
                row = row.append_column(field.name, pa.nulls(row.num_rows, field.type))
        return with_drop_reasons(row.select(template.column_names), [error_reason(self.name, "exception")])


def measure(name: str, before: pa.Table, after: pa.Table, seconds: float) -> StageStats:
    """A stage's counters from its input batch and its output (the same rows, some now with a drop reason)."""
    stats = StageStats(name, seconds=seconds)
    live, dropped = split_dropped(after)
    stats.docs_in, stats.docs_out = before.num_rows, live.num_rows
    stats.bytes_in, stats.bytes_out = doc_bytes(before), doc_bytes(live)
    stats.count_drops(dropped.column("drop_reason").to_pylist())
    return stats


@functools.lru_cache(maxsize=64)
def built_stage(name: str, config) -> Callable[[pa.Table], pa.Table]:
    """A stage built once per worker process and reused by every file task it runs (DESIGN.md invariant 7).

    Ray reuses worker processes across tasks, so a model or a 4.5 M-domain blocklist loads once per worker,
    not once per file. Configs are frozen dataclasses, hence hashable keys.
    """
    return REGISTRY.get(name).build(config)


def build_steps(specs: list[StageSpec]) -> list[Step]:
    """The steps of a config (stages come from the per-process cache), fusing runs of consecutive filters."""
    steps: list[Step] = []
    pending: list = []
    for spec in specs:
        entry = REGISTRY.get(spec.name)
        if entry.kind == "filter":
            pending.append((spec.name, entry.impl, spec.config, entry.contract.signal_values))
            continue
        if pending:
            steps.append(FilterChain(pending))
            pending = []
        steps.append(MapStep(spec.name, built_stage(spec.name, spec.config), entry.contract.signals))
    if pending:
        steps.append(FilterChain(pending))
    return steps
