"""The per-document stages of a config as steps: each step takes the live batch and returns it with drop
reasons set, plus the counters of the stage(s) it ran.

A map stage (a function or a class over a pyarrow batch) is one step. A run of consecutive heuristic
filters (kind "filter") is one `FilterChain` step, so each document is tokenized once for all of them.
"""

from __future__ import annotations

import functools
import time
from typing import Callable

import pyarrow as pa

from core.batch import doc_bytes, split_dropped
from core.contracts import Signal
from core.registry import REGISTRY
from core.stats import StageStats
from filters.chain import FilterChain
from pipeline.config import StageSpec

Step = Callable[[pa.Table], tuple[pa.Table, list[StageStats]]]


class MapStep:
    def __init__(self, name: str, stage: Callable[[pa.Table], pa.Table], signals: tuple[Signal, ...] = ()):
        self.name, self.stage, self.signals = name, stage, signals

    def __call__(self, batch: pa.Table) -> tuple[pa.Table, list[StageStats]]:
        started = time.perf_counter()
        after = self.stage(batch)
        stats = measure(self.name, batch, after, time.perf_counter() - started)
        for signal in self.signals:  # the columns its contract says the report draws
            stats.count_signal(signal.column, after.column(signal.column).to_pylist())
        return after, [stats]


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
