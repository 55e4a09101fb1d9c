"""Bounded work per record in the per-document stages: one CPU budget a record across every stage, every
exception the record's own error, and a watchdog for what a signal cannot stop.

A stage that works record by record (the reader, the language pre-pass, extract, the heuristic filters) runs
each record's work through `RecordGuard.run(doc_id, stage, fn, ...)`:
- the record's CPU time is summed over every stage it passes; the call runs under a CPU-time limit of what is
  left of `cpu_budget_s` (core/timelimit.py), so a record that has used its budget is an error
  (`<stage>.cpu_budget`) whichever stage it is in, and the others of its file go on;
- any exception is that record's error (`<stage>.exception`, or `<stage>.memory` for a MemoryError), logged
  once per stage and worker with its type; the file goes on;
- with a `RecordWatch` (core/watchdog.py), the watchdog process knows which record is being worked on, and
  kills the task when it passes the hard limits a signal cannot enforce (a C call that does not return, memory
  that grows inside one call); the retry skips it (core/quarantine.py).

Stages that work on a whole batch at once (fastText, the toxicity and quality classifiers, KenLM) are linear in
text that the reader bounds; an exception there is isolated by pipeline/steps.py, which re-runs the batch in
halves until the record that raises is found.

Cost: ~5 us a record and stage (two clock reads, the timer armed and disarmed, a few bytes to the watchdog),
against ~7 ms for extraction and ~0.3 ms for the filters (BENCHMARKS.md "Hostile records").
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from core.timelimit import TimeLimitExceeded, time_limit

log = logging.getLogger(__name__)

# The default budget: far above the slowest real page through every stage (about 1 CPU-s in trafilatura,
# bench/perf/extract_cost.py), and the worst a hostile record can cost before it becomes an error.
DEFAULT_CPU_BUDGET_S = 20.0


def hard_cpu_limit_s(budget_s: float) -> float:
    """The watchdog's limit: the CPU-time signal stops Python code within milliseconds of the budget, so only a
    C call that does not return reaches this (20 s budget: 32 s)."""
    return budget_s * 1.5 + 2.0


@dataclass
class RecordGuard:
    cpu_budget_s: float = math.inf
    watch: Any = None  # core.watchdog.RecordWatch, or None (no hard limits: tests, notebooks, benchmarks)
    stages: tuple[str, ...] = ()  # stage names, for the watchdog's record of where a record was
    used: dict[int, float] = field(default_factory=dict)  # doc_id -> CPU seconds used in this batch
    _warned: set[str] = field(default_factory=set)

    def run(self, doc_id: int, stage: str, fn: Callable, *args, url: str | None = None) -> tuple[Any, str | None]:
        """(fn(*args), None), or (None, problem) with problem "cpu_budget", "memory" or "exception"."""
        remaining = self.cpu_budget_s - self.used.get(doc_id, 0.0)
        if remaining <= 0:
            return None, "cpu_budget"
        self.enter(doc_id, stage, url)
        started = time.process_time()
        try:
            if math.isinf(remaining):
                return fn(*args), None
            with time_limit(remaining):
                return fn(*args), None
        except TimeLimitExceeded:
            return None, "cpu_budget"
        except Exception as e:  # a parser's error on hostile input, a rare shape: the record's, not the file's
            self._warn_once(stage, e)
            return None, "memory" if isinstance(e, MemoryError) else "exception"
        finally:
            self.used[doc_id] = self.used.get(doc_id, 0.0) + time.process_time() - started
            self.leave()

    def enter(self, doc_id: int, stage: str, url: str | None = None) -> None:
        """Tell the watchdog which record and stage the task is in (without a CPU-time limit: the reader, whose
        per-record work happens inside a generator that a raised exception would close)."""
        if self.watch is not None:
            self.watch.enter(doc_id, self._stage_index(stage), url)

    def in_stage(self, stage: str) -> None:
        """The record moved on to `stage` (a filter chain runs several stages in one call)."""
        if self.watch is not None:
            self.watch.in_stage(self._stage_index(stage))

    def leave(self) -> None:
        if self.watch is not None:
            self.watch.leave()

    def end_batch(self) -> None:
        self.used.clear()

    def _stage_index(self, stage: str) -> int:
        return self.stages.index(stage) if stage in self.stages else 0

    def _warn_once(self, stage: str, e: Exception) -> None:
        if stage not in self._warned:
            self._warned.add(stage)
            log.warning(
                "%s: a record raised %s: %s (the record's error; warned once per stage)", stage, type(e).__name__, e
            )
