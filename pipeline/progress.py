"""Progress you can see while a crawl runs: inside every file in flight, and per corpus-stage step.

Tasks report what they have read so far (records, kept documents, bytes of the file read and its size) every
`REPORT_EVERY_S` to a `ProgressBoard` (a Ray actor in a run); the driver polls the board once a second and
draws it. The ETA is from bytes, not files: a CommonCrawl WARC is ~1 GB, and one file in flight for ten minutes
is most of the work of a small run. The total is estimated from the sizes of the files seen so far (a
`warc.paths` list gives no sizes, and asking the store for 90,000 sizes would be 90,000 requests).

In a terminal the display is live (rich); in CI or a log file it is plain lines, one per committed file (as
before) and a summary line every `LOG_EVERY_S`. Progress never decides anything that is written.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

REPORT_EVERY_S = 2.0  # a task reports at most this often (an actor call each time)
LOG_EVERY_S = 30.0  # a plain summary line this often when the output is not a terminal


@dataclass
class FileProgress:
    path: str
    records: int = 0
    kept: int = 0
    bytes_read: int = 0
    bytes_total: int | None = None
    started: float = field(default_factory=time.monotonic)


class ProgressBoard:
    """What every file in flight has reported, and the totals of the files done (a Ray actor in a run)."""

    def __init__(self):
        self.in_flight: dict[int, FileProgress] = {}
        self.done_bytes = 0
        self.done_sizes: list[int] = []
        self.finished: set[int] = set()  # one int per file done: 90,000 files is a few MB

    def update(self, index: int, path: str, records: int, kept: int, bytes_read: int, bytes_total: int | None):
        if index in self.finished:  # a report that arrived after the driver saw the file done
            return
        entry = self.in_flight.setdefault(index, FileProgress(path))
        entry.records, entry.kept, entry.bytes_read, entry.bytes_total = records, kept, bytes_read, bytes_total

    def finish(self, index: int) -> None:
        self.finished.add(index)
        entry = self.in_flight.pop(index, None)
        if entry is not None:
            self.done_bytes += entry.bytes_total or entry.bytes_read
            self.done_sizes.append(entry.bytes_total or entry.bytes_read)

    def snapshot(self) -> dict:
        return {"in_flight": dict(self.in_flight), "done_bytes": self.done_bytes, "done_sizes": list(self.done_sizes)}


class Throttled:
    """Calls `report(*values)` at most every `every_s` (the first call at once), from inside a task."""

    def __init__(self, report, every_s: float = REPORT_EVERY_S):
        self.report, self.every_s = report, every_s
        self.last = float("-inf")

    def __call__(self, *values) -> None:
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            self.report(*values)


def estimate(snapshot: dict, files_total: int, files_done: int, elapsed: float) -> dict:
    """Bytes read, the estimated total, the rate and the ETA from a board snapshot."""
    in_flight = snapshot["in_flight"].values()
    read = snapshot["done_bytes"] + sum(f.bytes_read for f in in_flight)
    sizes = snapshot["done_sizes"] + [f.bytes_total for f in in_flight if f.bytes_total]
    mean_size = sum(sizes) / len(sizes) if sizes else 0
    total = max(read, mean_size * files_total)
    rate = read / elapsed if elapsed > 0 else 0.0
    eta = (total - read) / rate if rate > 0 and total else None
    return {"read": read, "total": total, "rate": rate, "eta": eta, "files_done": files_done}


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def human_seconds(s: float | None) -> str:
    if s is None:
        return "?"
    s = int(s)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    return f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {s:02d}s"


def summary_line(est: dict, files_total: int, records: int, kept: int) -> str:
    share = f" ({100 * est['read'] / est['total']:.1f}%)" if est["total"] else ""
    return (
        f"progress: {est['files_done']:,}/{files_total:,} files, {human_bytes(est['read'])} of "
        f"~{human_bytes(est['total'])} read{share}, {records:,} records, {kept:,} kept, "
        f"{human_bytes(est['rate'])}/s, ETA {human_seconds(est['eta'])}"
    )


class Display:
    """The driver's view: live in a terminal, plain lines otherwise (`live=None`: decide from stderr)."""

    def __init__(self, files_total: int, echo=print, live: bool | None = None):
        self.files_total, self.echo = files_total, echo
        self.live_enabled = sys.stderr.isatty() if live is None else live
        self.started = time.monotonic()
        self.last_log = self.started
        self.records = self.kept = self.files_done = 0
        self.eta: float | None = None  # from bytes, at the last refresh
        self._live = None

    def file_done(self, stats: dict) -> None:
        """One plain line per committed file (CI logs keep them all): the file, then the run so far."""
        self.files_done += 1
        self.records += stats["records_read"]
        self.kept += stats["kept"]
        status = "" if stats["status"] == "ok" else f" ERROR: {stats['message']}"
        elapsed = time.monotonic() - self.started
        self.echo(
            f"[{self.files_done}/{self.files_total} files] {stats['file']}: {stats['records_read']} records, "
            f"{stats['kept']} kept, {sum(stats['dropped'].values())} dropped, {sum(stats['errors'].values())} "
            f"errors{status} | run: {self.records:,} records, {self.kept:,} kept, "
            f"{self.records / elapsed if elapsed else 0:,.0f} records/s, {human_seconds(elapsed)} elapsed, "
            f"ETA {human_seconds(self.eta)}"
        )

    def file_failed(self, path: str, error: str) -> None:
        self.files_done += 1
        self.echo(f"[{self.files_done}/{self.files_total} files] FAILED {path}: {error}")

    def refresh(self, snapshot: dict) -> None:
        est = estimate(snapshot, self.files_total, self.files_done, time.monotonic() - self.started)
        self.eta = est["eta"]
        records = self.records + sum(f.records for f in snapshot["in_flight"].values())
        kept = self.kept + sum(f.kept for f in snapshot["in_flight"].values())
        if self.live_enabled:
            self._draw(est, snapshot, records, kept)
        elif time.monotonic() - self.last_log >= LOG_EVERY_S:
            self.last_log = time.monotonic()
            self.echo(summary_line(est, self.files_total, records, kept))

    def _draw(self, est: dict, snapshot: dict, records: int, kept: int) -> None:
        from rich.console import Console, Group
        from rich.live import Live
        from rich.table import Table

        if self._live is None:
            self._live = Live(console=Console(stderr=True), refresh_per_second=2, transient=True)
            self._live.start()
        table = Table(box=None, show_header=True, header_style="bold")
        for column in ("file in flight", "read", "records", "kept", "records/s"):
            table.add_column(column, justify="left" if column == "file in flight" else "right")
        for f in sorted(snapshot["in_flight"].values(), key=lambda f: f.started)[:12]:
            share = f"{100 * f.bytes_read / f.bytes_total:.0f}%" if f.bytes_total else human_bytes(f.bytes_read)
            rate = f.records / max(1e-9, time.monotonic() - f.started)
            table.add_row(f.path[-60:], share, f"{f.records:,}", f"{f.kept:,}", f"{rate:,.0f}")
        self._live.update(Group(summary_line(est, self.files_total, records, kept), table))

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


class StepDisplay:
    """One corpus-stage step: tasks done of total, with an ETA from the tasks done so far (a step's tasks are
    sized alike by the shuffle); live in a terminal, a line every LOG_EVERY_S otherwise."""

    def __init__(self, stage: str, step: str, total: int, echo=print, live: bool | None = None):
        self.stage, self.step, self.total, self.echo = stage, step, total, echo
        self.live_enabled = sys.stderr.isatty() if live is None else live
        self.started = self.last_log = time.monotonic()
        self.done = 0
        self._live = None

    def task_done(self) -> None:
        self.done += 1

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        eta = (self.total - self.done) * elapsed / self.done if self.done else None
        return (
            f"{self.stage}: {self.step} {self.done}/{self.total} tasks, {human_seconds(elapsed)} elapsed, "
            f"ETA {human_seconds(eta)}"
        )

    def refresh(self) -> None:
        if self.live_enabled:
            from rich.console import Console
            from rich.live import Live

            if self._live is None:
                self._live = Live(console=Console(stderr=True), refresh_per_second=2, transient=True)
                self._live.start()
            self._live.update(self.line())
        elif time.monotonic() - self.last_log >= LOG_EVERY_S:
            self.last_log = time.monotonic()
            self.echo(self.line())

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
