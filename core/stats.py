"""Per-stage and per-file counters, saved as JSON per input file and merged into the report.

The conservation law (DESIGN.md invariant 1): for every input file,
`records_read == kept + sum(dropped) + sum(errors)`; `check_conservation` says where it fails.
"""

from __future__ import annotations

import collections
from dataclasses import asdict, dataclass, field

HISTOGRAM_BINS = 50


@dataclass
class StageStats:
    name: str
    docs_in: int = 0
    docs_out: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    tokens: int = 0  # tokens written (the tokenize stage)
    # signal column -> document counts in HISTOGRAM_BINS equal bins over [0, 1], for every document the
    # stage judged (kept or dropped): what the report's histograms show, beside the stage's threshold
    histograms: dict[str, list[int]] = field(default_factory=dict)

    def count_drops(self, reasons: list[str]) -> None:
        for reason, n in collections.Counter(reasons).items():
            self.dropped[reason] = self.dropped.get(reason, 0) + n

    def merge(self, other: StageStats) -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.seconds += other.seconds
        self.tokens += other.tokens
        for reason, n in other.dropped.items():
            self.dropped[reason] = self.dropped.get(reason, 0) + n
        for column, counts in other.histograms.items():
            mine = self.histograms.setdefault(column, [0] * len(counts))
            self.histograms[column] = [a + b for a, b in zip(mine, counts)]

    def count_signal(self, column: str, values) -> None:
        """Add documents' scores in [0, 1] to this stage's histogram of `column`."""
        import numpy as np

        values = np.asarray([v for v in values if v is not None], dtype=float)
        counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=HISTOGRAM_BINS, range=(0.0, 1.0))
        mine = self.histograms.setdefault(column, [0] * HISTOGRAM_BINS)
        self.histograms[column] = [a + int(b) for a, b in zip(mine, counts)]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["dropped"] = dict(sorted(self.dropped.items()))
        d["seconds"] = round(self.seconds, 3)
        return d


@dataclass
class FileStats:
    file: str
    file_index: int
    status: str = "ok"  # "ok" | "error" (the whole file could not be read; `message` says why)
    message: str | None = None
    records_read: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    record_types: dict[str, int] = field(default_factory=dict)
    stages: list[StageStats] = field(default_factory=list)
    kept_bytes: int = 0
    io_retries: dict[str, int] = field(default_factory=dict)  # transient I/O failures retried, by kind
    quarantined: list[dict] = field(default_factory=list)  # records skipped as quarantined (core/quarantine.py)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stages"] = [s.to_dict() for s in self.stages]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FileStats:
        d = dict(d)
        d["stages"] = [StageStats(**s) for s in d.get("stages", [])]
        return cls(**d)


def conservation_gap(records_read: int, kept: int, dropped: dict[str, int], errors: dict[str, int]) -> int:
    """0 when every record read is accounted for; otherwise how many are missing (or extra, if negative)."""
    return records_read - kept - sum(dropped.values()) - sum(errors.values())


def check_conservation(files: list[FileStats]) -> list[str]:
    problems = []
    for f in files:
        gap = conservation_gap(f.records_read, f.kept, f.dropped, f.errors)
        if gap:
            problems.append(f"{f.file}: records_read {f.records_read} != kept + dropped + errors (gap {gap})")
    return problems


def merge_stage_lists(per_file: list[list[StageStats]]) -> list[StageStats]:
    merged: dict[str, StageStats] = {}
    for stages in per_file:
        for s in stages:
            merged.setdefault(s.name, StageStats(s.name)).merge(s)
    return list(merged.values())


def sum_maps(maps: list[dict[str, int]]) -> dict[str, int]:
    total: collections.Counter[str] = collections.Counter()
    for m in maps:
        total.update(m)
    return dict(sorted(total.items()))
