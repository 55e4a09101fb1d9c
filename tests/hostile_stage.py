"""A stage for the record-guard tests only: it misbehaves on a document whose text holds a marker, in each way a
real parser can (a Python loop, a C call that holds the CPU, memory taken inside one call, an exception).
`register_hostile_stage()` registers it, in the child processes of tests/test_record_guard.py only (the test
process's registry stays the installed stages')."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from core.batch import error_reason, with_drop_reasons
from core.record_guard import RecordGuard
from core.registry import register

MARKERS = ("SPIN-IN-PYTHON", "SPIN-IN-C", "EAT-MEMORY", "RAISE")


@dataclass(frozen=True)
class HostileConfig:
    pass


def misbehave(text: str) -> None:
    if "SPIN-IN-PYTHON" in text:
        while True:
            pass
    if "SPIN-IN-C" in text:
        sum(range(10**13))  # one C call: no signal handler runs until it returns (hours)
    if "EAT-MEMORY" in text:
        hoard = b"x" * (6 << 30)  # written at once, inside one call
        del hoard
    if "RAISE" in text:
        raise ValueError("a hostile record")


class HostileStage:
    def __init__(self, cfg: HostileConfig):
        self.cfg = cfg

    def __call__(self, batch: pa.Table, guard: RecordGuard | None = None) -> pa.Table:
        guard = guard or RecordGuard()
        reasons = []
        columns = (batch.column(name).to_pylist() for name in ("doc_id", "text", "url"))
        for doc_id, text, url in zip(*columns):
            _, problem = guard.run(doc_id, "hostile_test", misbehave, text or "", url=url)
            reasons.append(None if problem is None else error_reason("hostile_test", problem))
        return with_drop_reasons(batch, reasons)


def register_hostile_stage() -> None:
    register("hostile_test", HostileConfig)(HostileStage)
