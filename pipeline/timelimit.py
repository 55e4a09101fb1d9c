"""A per-call CPU-time limit that really interrupts runaway Python code (ITIMER_PROF / SIGPROF).

CPU time, not wall-clock: on a loaded machine a wall-clock limit drops ordinary long pages that merely
waited for a core (measured: at load 4-8 on 2 cores, 6 of 1,446 pages timed out and 3 English documents
were lost), so the output would depend on what else the machine was doing. The CPU time a page needs
barely changes with load, so the same input gives the same documents.

trafilatura is pure Python around many short lxml calls, so the alarm fires between two of them: a
page that makes the extractor spin is stopped within milliseconds of its limit. A single C call is not
interrupted until it returns; payloads are capped (`read.max_payload_bytes`) so none runs for long.
Ray runs a task in its worker's main thread, where signals are delivered, so this works under Ray
as it does in a plain process; elsewhere it refuses to run rather than silently not limiting.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator


class TimeLimitExceeded(Exception):
    pass


def _raise_timeout(signum, frame):
    raise TimeLimitExceeded()


_TIMER, _SIGNAL = signal.ITIMER_PROF, signal.SIGPROF  # process CPU time (user + system)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("time_limit needs the main thread (signals); run the stage in a task, not a thread")
    previous = signal.signal(_SIGNAL, _raise_timeout)
    signal.setitimer(_TIMER, seconds)
    try:
        yield
    finally:
        signal.setitimer(_TIMER, 0)
        signal.signal(_SIGNAL, previous)
