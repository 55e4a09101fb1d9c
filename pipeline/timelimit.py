"""A per-call wall-clock limit that really interrupts runaway Python code (SIGALRM).

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


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("time_limit needs the main thread (SIGALRM); run the stage in a task, not a thread")
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
