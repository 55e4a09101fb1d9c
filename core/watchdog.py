"""A watchdog process beside a file task: the hard bound on one record's CPU time and on the worker's memory.

The record guard (core/record_guard.py) stops runaway Python with a CPU-time signal, but a signal handler runs
only between bytecodes: a C call that never returns (a parser, a regex) or that allocates gigabytes at once is
out of its reach, as is Python's own MemoryError under a Ray worker (no address-space limit can be set on a
process whose runtime maps large arenas). So a second, tiny process watches from outside, as Hadoop's task
tracker does in skip-bad-records mode:

- the task writes which record and stage it is in, and its CPU time on entering it, into a shared page (a few
  bytes through mmap: ~1 us a record, nothing else crosses the process boundary);
- the watchdog reads the task's CPU time and resident memory from /proc every POLL_S; when the record has used
  more than `cpu_limit_s`, or the process is over `memory_limit_mb` while in a record, it stops the task
  (SIGSTOP, so it neither finishes nor grows meanwhile), appends the record to the file's quarantine list in
  the output folder, and kills it (SIGKILL);
- Ray retries the task (its `max_retries`), and the retry skips every quarantined record as the error
  `quarantined.<reason>` (pipeline/filepass.py): a poison record costs one retry, never the file.

Started as `python -m core.watchdog` (a fresh interpreter: forking a Ray worker with its threads is unsafe).
Linux only (/proc); elsewhere the task runs without it and says so once.
"""

from __future__ import annotations

import json
import mmap
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

POLL_S = 0.05
# seq (changes on every enter), doc_id, stage index, in a record (0/1), task CPU seconds on entering it
_SLOT = struct.Struct("<QQIId")
_STAGE, _STAGE_AT = struct.Struct("<I"), 16
_URL_LENGTH = struct.Struct("<H")  # then the record's URL, if known
_URL_AT = _SLOT.size + _URL_LENGTH.size
MAX_URL_BYTES = 2048
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class RecordWatch:
    """The task's side: start the watchdog, tell it which record is being worked on."""

    def __init__(self, file: str, stages: list[str], quarantine_path: str, cpu_limit_s: float, memory_limit_mb: int):
        self.seq = 0
        handle, self.slot_path = tempfile.mkstemp(prefix="record-watch-")
        os.write(handle, b"\0" * _PAGE_SIZE)
        self.slot = mmap.mmap(handle, _PAGE_SIZE)
        os.close(handle)
        settings = {
            "pid": os.getpid(),
            "file": file,
            "slot": self.slot_path,
            "stages": stages,
            "quarantine": quarantine_path,
            "cpu_limit_s": cpu_limit_s,
            "memory_limit_mb": memory_limit_mb,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.watchdog", json.dumps(settings)],
            stdin=subprocess.DEVNULL,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )

    def enter(self, doc_id: int, stage_index: int, url: str | None = None) -> None:
        self.seq += 1
        url_bytes = (url or "").encode("utf-8", errors="replace")[:MAX_URL_BYTES]
        _URL_LENGTH.pack_into(self.slot, _SLOT.size, len(url_bytes))
        self.slot[_URL_AT : _URL_AT + len(url_bytes)] = url_bytes
        _SLOT.pack_into(self.slot, 0, self.seq, doc_id, stage_index, 1, time.process_time())

    def in_stage(self, stage_index: int) -> None:
        _STAGE.pack_into(self.slot, _STAGE_AT, stage_index)

    def leave(self) -> None:
        _SLOT.pack_into(self.slot, 0, self.seq, 0, 0, 0, 0.0)

    def close(self) -> None:
        self.leave()
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait()
        self.slot.close()
        os.unlink(self.slot_path)


MIN_HEADROOM_MB = 512  # a worker that already holds more than the ceiling still gets this much per record


def memory_ceiling_mb(max_task_memory_mb: int) -> int:
    """The ceiling for this process: max_task_memory_mb, or its resident memory now plus MIN_HEADROOM_MB if that is
    higher (a worker whose models alone pass the setting must not quarantine every record)."""
    usage = _task_cpu_and_rss(os.getpid())
    rss_mb = 0 if usage is None else usage[1] >> 20
    return max(max_task_memory_mb, rss_mb + MIN_HEADROOM_MB)


def available() -> bool:
    return sys.platform.startswith("linux") and os.path.exists(f"/proc/{os.getpid()}/stat")


# ---------------------------------------------------------------- the watchdog's side


def _task_cpu_and_rss(pid: int) -> tuple[float, int] | None:
    """(CPU seconds, resident bytes) of `pid`, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    utime, stime, rss_pages = int(fields[11]), int(fields[12]), int(fields[21])
    return (utime + stime) / _CLOCK_TICKS, rss_pages * _PAGE_SIZE


def _over_limit(settings: dict, entered_cpu: float, cpu: float, rss: int) -> str | None:
    if cpu - entered_cpu > settings["cpu_limit_s"]:
        return "cpu"
    if rss > settings["memory_limit_mb"] << 20:
        return "memory"
    return None


def watch(settings: dict) -> None:
    """Poll until the task is gone; stop, quarantine and kill it when a record passes a limit."""
    pid = settings["pid"]
    with open(settings["slot"], "r+b") as f:
        slot = mmap.mmap(f.fileno(), _PAGE_SIZE)
    while (usage := _task_cpu_and_rss(pid)) is not None:
        seq, doc_id, stage, inside, entered_cpu = _SLOT.unpack_from(slot, 0)
        reason = _over_limit(settings, entered_cpu, *usage) if inside else None
        if reason is not None:
            os.kill(pid, signal.SIGSTOP)  # neither finishes the record (a race) nor grows while we write
            seq_now, _, stage, *_ = _SLOT.unpack_from(slot, 0)
            if seq_now == seq:
                (url_length,) = _URL_LENGTH.unpack_from(slot, _SLOT.size)
                url = slot[_URL_AT : _URL_AT + url_length].decode("utf-8", errors="replace")
                _quarantine(settings, doc_id, url, settings["stages"][stage], reason, usage)
                os.kill(pid, signal.SIGKILL)
                return
            os.kill(pid, signal.SIGCONT)
        time.sleep(POLL_S)


def _quarantine(settings: dict, doc_id: int, url: str, stage: str, reason: str, usage: tuple[float, int]) -> None:
    from core.quarantine import add_entry

    entry = {"ordinal": doc_id & 0xFFFFFFFF, "url": url or None, "stage": stage, "reason": reason}
    entry.update(cpu_s=round(usage[0], 1), rss_mb=usage[1] >> 20)
    add_entry(settings["quarantine"], entry, settings["file"])


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    watch(json.loads(sys.argv[1]))


if __name__ == "__main__":
    main()
