"""Consecutive heuristic filters run as one loop over the documents, sharing one `Doc` per document.

A heuristic filter is a pure function `fn(doc: Doc, cfg) -> str | None` (None = keep, else the rule that
dropped it), registered with kind="filter". The engine hands every run of consecutive filters in
`stages.yaml` to one `FilterChain`: each document is split into lines/words once, the filters run in
order and the first reason wins. Each filter still gets its own counters, time and bytes in the report, and
the histogram of its signal when its contract declares one (`Contract.signals`, and `Contract.signal_values(doc)`
= {column: value in [0, 1]}; core/contracts.py).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import pyarrow as pa

from core.batch import error_reason, set_column, with_drop_reasons
from core.record_guard import RecordGuard
from core.stats import StageStats
from core.text import Doc

FilterFn = Callable[[Doc, Any], "str | None"]
SignalValues = Callable[[Doc], dict[str, float]]


def _no_signals(doc: Doc) -> dict[str, float]:
    return {}


class FilterChain:
    def __init__(self, members: list[tuple[str, FilterFn, Any, SignalValues | None]]):
        """members: (name, filter, its config, its contract's signal_values) in recipe order."""
        self.members = members

    @property
    def names(self) -> list[str]:
        return [name for name, _, _, _ in self.members]

    def __call__(self, batch: pa.Table, guard: RecordGuard | None = None) -> tuple[pa.Table, list[StageStats]]:
        guard = guard or RecordGuard()
        texts = batch.column("text").to_pylist()
        urls = batch.column("url").to_pylist()
        doc_ids = batch.column("doc_id").to_pylist()
        stats = [StageStats(name) for name in self.names]
        signals: list[dict[str, list[float]]] = [{} for _ in self.members]
        reasons: list[str | None] = [None] * len(texts)
        for i, text in enumerate(texts):
            doc, at = Doc(text or "", urls[i]), [0]
            reasons[i], problem = guard.run(doc_ids[i], self.names[0], self._run_one, doc, stats, signals, guard, at)
            if problem is not None:  # the filter it was in counts it, as a drop of its own would be
                reasons[i] = error_reason(self.names[at[0]], problem)
                stats[at[0]].dropped[reasons[i]] = stats[at[0]].dropped.get(reasons[i], 0) + 1
            texts[i] = doc.text
        for member_stats, member_signals in zip(stats, signals):
            for column, values in member_signals.items():
                member_stats.count_signal(column, values)
        batch = set_column(batch, "text", pa.array(texts, type=pa.large_string()))
        return with_drop_reasons(batch, reasons), stats

    def _run_one(self, doc: Doc, stats: list[StageStats], signals: list[dict], guard, at: list[int]) -> str | None:
        """The filters over one document, first reason wins; `at[0]` says which filter it is in."""
        size = len(doc.text.encode("utf-8"))
        for k, ((name, fn, cfg, signal_values), s, member_signals) in enumerate(zip(self.members, stats, signals)):
            at[0] = k
            guard.in_stage(name)
            s.docs_in += 1
            s.bytes_in += size
            started = time.perf_counter()
            for column, value in (signal_values or _no_signals)(doc).items():  # for the report
                member_signals.setdefault(column, []).append(value)
            text_before = doc.text
            rule = fn(doc, cfg)
            s.seconds += time.perf_counter() - started
            if rule is not None:
                reason = f"{name}.{rule}"
                s.dropped[reason] = s.dropped.get(reason, 0) + 1
                return reason
            if doc.text is not text_before:
                size = len(doc.text.encode("utf-8"))
            s.docs_out += 1
            s.bytes_out += size
        return None
