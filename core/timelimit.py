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
import time
from typing import Iterator

REFIRE_S = 0.05  # after the limit, the signal comes back this often (CPU time) until the block exits


class TimeLimitExceeded(BaseException):
    """Raised in the limited block; a BaseException, so `except Exception` in library code does not stop it."""


_TIMER, _SIGNAL = signal.ITIMER_PROF, signal.SIGPROF  # process CPU time (user + system)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeLimitExceeded in the block once it has used `seconds` of CPU time. Nests: inside another limit
    (a record's budget around a stage's own limit) the nearer of the two applies, and the outer one gets back
    what it has left when the block exits."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("time_limit needs the main thread (signals); run the stage in a task, not a thread")
    outer_left, _ = signal.getitimer(_TIMER)
    started = time.process_time()
    armed = [True]

    def _raise_timeout(signum, frame):
        if armed[0]:  # a signal that arrives while the block is exiting is ignored
            raise TimeLimitExceeded()

    previous = signal.signal(_SIGNAL, _raise_timeout)
    signal.setitimer(_TIMER, min(seconds, outer_left) if outer_left else seconds, REFIRE_S)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(_TIMER, 0)
        signal.signal(_SIGNAL, previous)
        if outer_left:  # the enclosing limit's handler is back: re-arm it with what it has left
            left = outer_left - (time.process_time() - started)
            signal.setitimer(_TIMER, max(left, 0.001), REFIRE_S)
