"""Transient I/O failures (a 503, a dropped connection, a server restarting) are retried with backoff and
counted; permanent ones (404, access denied) are not.

fsspec's HTTP reader never retries, and s3fs/botocore retry only briefly (about 8 s against a server that is
down): a week-long job over 90,000 remote files meets all of these. Reads resume where they stopped (an HTTP
Range request, a seek on S3), so a dropped connection costs a reconnect, not the file.

A resumed read asks for the version the read started on (HTTP `If-Range`, S3 `IfMatch`) and checks the answer's
ETag, Last-Modified and size: an object replaced in between fails the file with `ObjectChanged` (not transient,
not a corrupt record) instead of splicing the new version's bytes onto the old one's.
"""

from __future__ import annotations

import collections
import errno
import functools
import io
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

# OSError errnos of transient trouble; EBUSY and EREMOTEIO are what s3fs makes of S3's 503 SlowDown / 500.
_TRANSIENT_ERRNOS = {
    errno.EBUSY,
    getattr(errno, "EREMOTEIO", 121),
    errno.ECONNRESET,
    errno.ECONNREFUSED,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EPIPE,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.EAGAIN,
}
# HTTP statuses worth another try (RFC 9110: 503 Service Unavailable, 429 Too Many Requests, gateways).
_TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}


@functools.cache
def _connection_errors() -> tuple[type[BaseException], ...]:
    """Connection trouble in the libraries under fsspec (imported on first use: the module stays light):
    aiohttp (HTTP, and S3 under aiobotocore), botocore, http.client, fsspec's own timeout, and a TLS
    connection closed without its close_notify."""
    import http.client
    import ssl

    import aiohttp
    import botocore.exceptions as boto
    from fsspec.exceptions import FSTimeoutError

    return (
        aiohttp.ClientConnectionError,  # refused, reset, server disconnected (and its subclasses)
        aiohttp.ClientPayloadError,  # the body ended before Content-Length
        aiohttp.ServerTimeoutError,
        boto.EndpointConnectionError,
        boto.ConnectionClosedError,
        boto.ReadTimeoutError,
        boto.ConnectTimeoutError,
        boto.ResponseStreamingError,
        boto.IncompleteReadError,
        boto.HTTPClientError,
        http.client.IncompleteRead,
        http.client.RemoteDisconnected,
        FSTimeoutError,
        ssl.SSLEOFError,
    )


class RetriesExhausted(OSError):
    """A transient failure that outlived every retry: the file fails for this run, a re-run tries it again."""


class ObjectChanged(OSError):
    """A remote input was replaced while it was read: the bytes read so far and those after the resume point
    belong to two versions. Not transient (retrying reads the new version's tail) and not a corrupt record: the
    file fails for this run, uncommitted, and a re-run reads the new version whole."""


@dataclass(frozen=True)
class Version:
    """Which version of a remote object a response is of: whichever validators its server gives."""

    etag: str | None = None
    last_modified: str | None = None
    size: int | None = None

    def change_from(self, earlier: Version) -> str | None:
        """'ETag X, now Y' for the first validator known in both that differs from `earlier`'s, else None.
        ETags compare weakly (a `W/` prefix ignored): a server may weaken its ETag on some answers."""
        pairs = [
            ("ETag", earlier.etag, self.etag, _weak_etag),
            ("Last-Modified", earlier.last_modified, self.last_modified, str),
            ("size", earlier.size, self.size, int),
        ]
        for name, was, now, same in pairs:
            if was is not None and now is not None and same(was) != same(now):
                return f"{name} {was}, now {now}"
        return None

    def if_range(self) -> str | None:
        """The `If-Range` validator (RFC 9110 13.1.5): a strong ETag, else the Last-Modified date."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag
        return self.last_modified


def _weak_etag(etag: str) -> str:
    return etag.removeprefix("W/")


def object_changed(what: str, change: str) -> ObjectChanged:
    """The error for `what` having changed mid-read; `change` says how ("ETag X, now Y")."""
    message = f"{what} changed while it was read ({change}): not committed; run again to read the new version"
    return ObjectChanged(message)


def transient_kind(error: BaseException) -> str | None:
    """A short name for a transient failure (the report's counter key), or None when retrying cannot help."""
    permanent = (FileNotFoundError, PermissionError, IsADirectoryError, RetriesExhausted, ObjectChanged)
    if isinstance(error, permanent):
        return None
    reason = getattr(error, "reason", None)  # urllib's URLError wraps the socket error that caused it
    if isinstance(reason, OSError) and not hasattr(error, "code"):
        return transient_kind(reason)
    status = getattr(error, "status", None)  # aiohttp.ClientResponseError
    if isinstance(status, int):
        return f"http.{status}" if status in _TRANSIENT_STATUSES else None
    if isinstance(error, (ConnectionError, TimeoutError, *_connection_errors())):
        return f"connection.{type(error).__name__}"
    if isinstance(error, OSError) and error.errno in _TRANSIENT_ERRNOS:
        return f"os.{errno.errorcode.get(error.errno, error.errno)}"
    return None


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter: 0.5, 1, 2, 4 ... s, each at most `max_delay_s`; the counter says what
    was retried. The default 8 attempts wait up to about a minute: long enough for a server restart."""

    attempts: int = 8
    first_delay_s: float = 0.5
    max_delay_s: float = 30.0
    retried: collections.Counter = field(default_factory=collections.Counter)
    sleep: Callable[[float], None] = time.sleep

    def backoff(self, failure: int) -> float:
        """Seconds to wait after the `failure`-th consecutive failure (1-based), jittered by up to 25%."""
        delay = min(self.max_delay_s, self.first_delay_s * 2 ** (failure - 1))
        return delay * random.uniform(0.75, 1.0)

    def call(self, what: str, fn: Callable, *args):
        """fn(*args), retried on transient failures; the last one is raised as RetriesExhausted."""
        failures = 0
        while True:
            try:
                return fn(*args)
            except Exception as e:
                failures = self.failed(what, e, failures)

    def failed(self, what: str, error: Exception, failures: int) -> int:
        """Count a failure and wait before the next try; re-raise when it is permanent or retries are spent."""
        kind = transient_kind(error)
        if kind is None:
            raise error
        failures += 1
        if failures >= self.attempts:
            message = f"{what}: gave up after {failures} tries: {type(error).__name__}: {error}"
            raise RetriesExhausted(message) from error
        self.retried[kind] += 1
        delay = self.backoff(failures)
        print(f"retrying {what} in {delay:.1f} s after {kind}: {error}", file=sys.stderr)
        self.sleep(delay)
        return failures


def call_with_retries(fn: Callable, attempts: int, first_delay_s: float, *args) -> tuple[object, dict[str, int]]:
    """fn(*args) under a fresh RetryPolicy, for a step of a corpus stage (steps commit atomically, so a redo
    is safe); returns (result, what was retried) so that the driver can count it in the report."""
    policy = RetryPolicy(attempts=attempts, first_delay_s=first_delay_s)
    return policy.call(fn.__name__, fn, *args), dict(policy.retried)


class ResumableInput(io.RawIOBase):
    """A read-only stream over a remote file that reconnects where it stopped after a transient failure.

    `open_at(offset)` returns a fresh stream positioned at `offset` and the file's size (None if unknown); the
    size turns a connection that ends early without an error into a retry instead of a silently short file.
    Connecting is lazy (the first read), and so is reconnecting after a seek: the WARC reader can skip to the
    next gzip member after a corrupt one, over HTTP as well.

    `open_at` raises `ObjectChanged` when the file is no longer the version the read started on (storage.py's
    openers check); that is never retried, and every later read or seek of this stream raises it again."""

    def __init__(self, what: str, open_at: Callable[[int], tuple[object, int | None]], policy: RetryPolicy):
        super().__init__()
        self.what, self.open_at, self.policy = what, open_at, policy
        self.size: int | None = None
        self.position = 0
        self._stream = None
        self.changed: ObjectChanged | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        if base is None:
            raise io.UnsupportedOperation(f"{self.what}: size unknown, cannot seek from the end")
        target = base + offset
        if self.changed is not None:
            raise self.changed.with_traceback(None)
        if target != self.position:
            self._disconnect()
            self.position = target
        return self.position

    def readinto(self, buffer) -> int:
        failures = 0
        while True:
            if self.changed is not None:
                raise self.changed.with_traceback(None)
            if self._stream is None and self.size is not None and self.position >= self.size:
                return 0  # nothing left to ask for (a server answers a Range from the end with 416)
            try:
                if self._stream is None:
                    self._stream, size = self.open_at(self.position)
                    self.size = size if size is not None else self.size
                data = self._stream.read(len(buffer))
                if not data and self.size is not None and self.position < self.size:
                    raise ConnectionResetError(f"connection ended at byte {self.position} of {self.size}")
                buffer[: len(data)] = data
                self.position += len(data)
                return len(data)
            except ObjectChanged as e:
                self._disconnect()
                self.changed = e
                raise
            except Exception as e:
                self._disconnect()
                failures = self.policy.failed(f"{self.what} at byte {self.position}", e, failures)

    def _disconnect(self) -> None:
        if self._stream is not None:
            try:
                self._stream.close()
            except Exception:  # a broken connection may fail to close; it is dropped either way
                pass
            self._stream = None

    def close(self) -> None:
        self._disconnect()
        super().close()
