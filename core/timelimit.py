"""A per-call CPU-time limit that really interrupts runaway Python code (ITIMER_PROF / SIGPROF).

CPU time, not wall-clock: on a loaded machine a wall-clock limit drops ordinary long pages that merely
waited for a core (measured: at load 4-8 on 2 cores, 6 of 1,446 pages timed out and 3 English documents
were lost), so the output would depend on what else the machine was doing. CPU time still depends on the
CPU model, so in the pipeline this limit is only a safety net far above what any page that passes the
deterministic guards in `extractors/main_text.py` needs.

trafilatura is pure Python around many short lxml calls, so the signal lands between two of them. It also
catches `Exception` in its fallbacks and metadata code, where an ordinary exception would be logged and the
rest of the page would run without a limit; so `TimeLimitExceeded` is a BaseException, and the timer is
re-armed every `REFIRE_S` until the block exits, so that even a handler that swallows it once is interrupted
again. A single C call is not interrupted until it returns; what reaches lxml is capped (the read stage's
`max_payload_bytes`, the extract stage's guards) so none runs for long. Ray runs a task in its worker's main
thread, where signals are delivered, so this works under Ray as in a plain process; elsewhere it refuses to
run rather than silently not limiting.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

REFIRE_S = 0.05  # after the limit, the signal comes back this often (CPU time) until the block exits


class TimeLimitExceeded(BaseException):
    """Raised in the limited block; a BaseException, so `except Exception` in library code does not stop it."""


_TIMER, _SIGNAL = signal.ITIMER_PROF, signal.SIGPROF  # process CPU time (user + system)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("time_limit needs the main thread (signals); run the stage in a task, not a thread")
    armed = [True]

    def _raise_timeout(signum, frame):
        if armed[0]:  # a signal that arrives while the block is exiting is ignored
            raise TimeLimitExceeded()

    previous = signal.signal(_SIGNAL, _raise_timeout)
    signal.setitimer(_TIMER, seconds, REFIRE_S)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(_TIMER, 0)
        signal.signal(_SIGNAL, previous)
