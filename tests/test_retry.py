"""What counts as transient, how the backoff grows, and how a resumable read picks up where it stopped, or fails
when the file changed meanwhile (no server: the stream's failures are scripted; tests/test_transient_failures.py
and tests/test_changed_object.py do it over real HTTPS and S3)."""

from __future__ import annotations

import errno
import io
import urllib.error

import pytest

from core.retry import (
    ObjectChanged,
    ResumableInput,
    RetriesExhausted,
    RetryPolicy,
    Version,
    object_changed,
    transient_kind,
)


@pytest.mark.parametrize(
    "error, kind",
    [
        (urllib.error.HTTPError("u", 503, "Slow Down", {}, io.BytesIO()), "http.503"),
        (urllib.error.HTTPError("u", 429, "Too Many", {}, io.BytesIO()), "http.429"),
        (urllib.error.HTTPError("u", 400, "Bad Request", {}, io.BytesIO()), None),
        (urllib.error.URLError(ConnectionRefusedError(111, "refused")), "connection.ConnectionRefusedError"),
        (urllib.error.URLError(OSError(errno.ENOENT, "no such host")), None),
        (ConnectionResetError("reset"), "connection.ConnectionResetError"),
        (TimeoutError("read timed out"), "connection.TimeoutError"),
        (OSError(errno.EBUSY, "SlowDown"), "os.EBUSY"),  # what s3fs makes of S3's 503 SlowDown
        (FileNotFoundError("gone"), None),
        (PermissionError("denied"), None),
        (RetriesExhausted("given up"), None),
        (ObjectChanged("replaced mid-read"), None),
        (ValueError("a bug"), None),
    ],
)
def test_transient_kind(error, kind):
    assert transient_kind(error) == kind


def test_library_connection_errors_are_classified_by_type_not_by_name():
    import aiohttp

    reset = aiohttp.ServerDisconnectedError()
    assert transient_kind(reset) == "connection.ServerDisconnectedError"  # a subclass of ClientConnectionError
    look_alike = type("ClientConnectionError", (Exception,), {})()  # same name, not the library's class
    assert transient_kind(look_alike) is None


def test_botocore_connection_errors_are_transient():
    botocore = pytest.importorskip("botocore.exceptions")
    error = botocore.EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    assert transient_kind(error) == "connection.EndpointConnectionError"
    assert transient_kind(botocore.NoCredentialsError()) is None


def test_backoff_doubles_up_to_the_cap_with_jitter():
    policy = RetryPolicy(first_delay_s=0.5, max_delay_s=30.0)
    for failure, full in [(1, 0.5), (2, 1.0), (3, 2.0), (7, 30.0), (12, 30.0)]:
        assert 0.75 * full <= policy.backoff(failure) <= full


def test_call_retries_transient_failures_counts_them_and_gives_up_in_time():
    waits = []
    policy = RetryPolicy(attempts=3, sleep=waits.append)
    outcomes = iter([ConnectionResetError("one"), OSError(errno.EBUSY, "two"), "done"])

    def flaky():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert policy.call("flaky", flaky) == "done"
    assert dict(policy.retried) == {"connection.ConnectionResetError": 1, "os.EBUSY": 1} and len(waits) == 2
    with pytest.raises(RetriesExhausted, match="gave up after 3 tries"):
        RetryPolicy(attempts=3, sleep=lambda s: None).call("down", _raise, ConnectionRefusedError("refused"))
    with pytest.raises(FileNotFoundError):  # permanent: raised at once, not counted
        RetryPolicy(sleep=lambda s: None).call("missing", _raise, FileNotFoundError("gone"))


def _raise(error):
    raise error


class _Source:
    """A file served from `offset` on, whose connections break as scripted: `breaks` lists, per connection,
    after how many bytes it fails (None: never); with `silent` it ends without an error instead."""

    def __init__(self, data: bytes, breaks: list[int | None], silent: bool = False):
        self.data, self.breaks, self.silent = data, list(breaks), silent
        self.opened_at: list[int] = []

    def open_at(self, offset: int):
        self.opened_at.append(offset)
        limit = self.breaks.pop(0) if self.breaks else None
        return _BreakingStream(self.data[offset:], limit, self.silent), len(self.data)


class _BreakingStream(io.BytesIO):
    def __init__(self, data: bytes, limit: int | None, silent: bool):
        super().__init__(data)
        self.limit, self.silent = limit, silent

    def read(self, n=-1):
        if self.limit is not None and self.tell() >= self.limit:
            if self.silent:
                return b""  # the connection ended early without an error
            raise ConnectionResetError("connection reset by peer")
        n = n if self.limit is None else min(n, self.limit - self.tell())
        return super().read(n)


@pytest.mark.parametrize("silent", [False, True])
def test_a_broken_read_resumes_at_the_byte_it_reached(silent):
    data = bytes(range(256)) * 400
    source = _Source(data, breaks=[1000, 5000, None], silent=silent)
    policy = RetryPolicy(sleep=lambda s: None)
    stream = io.BufferedReader(ResumableInput("test", source.open_at, policy), buffer_size=4096)
    assert stream.read() == data
    assert source.opened_at == [0, 1000, 6000]
    assert sum(policy.retried.values()) == 2


def test_seeking_reconnects_at_the_new_position_lazily():
    data = bytes(range(256)) * 100
    source = _Source(data, breaks=[])
    stream = ResumableInput("test", source.open_at, RetryPolicy())
    assert stream.read(10) == data[:10]
    stream.seek(20_000)
    assert source.opened_at == [0]  # no connection until the next read
    assert stream.read(5) == data[20_000:20_005] and source.opened_at == [0, 20_000]


@pytest.mark.parametrize(
    "earlier, now, change",
    [
        (
            Version('"a"', "Mon, 01 Jan 2024 00:00:00 GMT", 10),
            Version('"a"', "Mon, 01 Jan 2024 00:00:00 GMT", 10),
            None,
        ),
        (Version('"a"', None, 10), Version('W/"a"', None, 10), None),  # an ETag weakened on the way: the same
        (Version('"a"', "Mon", 10), Version('"b"', "Tue", 12), 'ETag "a", now "b"'),
        (Version(None, "Mon", 10), Version('"b"', "Mon", 10), None),  # only what both answers give is compared
        (Version(None, "Mon", 10), Version(None, "Tue", 10), "Last-Modified Mon, now Tue"),
        (Version(None, None, 10), Version(None, None, 12), "size 10, now 12"),
        (Version(None, None, 10), Version(None, None, None), None),
    ],
)
def test_a_version_change_is_named_by_the_first_validator_that_differs(earlier, now, change):
    assert now.change_from(earlier) == change


def test_if_range_asks_with_a_strong_etag_else_the_date():
    assert Version('"a"', "Mon", 1).if_range() == '"a"'
    assert Version('W/"a"', "Mon", 1).if_range() == "Mon"  # RFC 9110: no weak ETag in If-Range
    assert Version(None, None, 1).if_range() is None


class _ReplacedSource(_Source):
    """Its first connection breaks after 1000 bytes; by the resume the file is another version."""

    def open_at(self, offset: int):
        if self.opened_at:
            self.opened_at.append(offset)
            raise object_changed("test", 'ETag "a", now "b"')
        return super().open_at(offset)


def test_a_file_changed_at_the_resume_fails_at_once_and_stays_failed():
    data = bytes(range(256)) * 40
    source = _ReplacedSource(data, breaks=[1000])
    policy = RetryPolicy(sleep=lambda s: None)
    stream = ResumableInput("test", source.open_at, policy)
    assert stream.read(4000) == data[:1000]
    message = 'test changed while it was read (ETag "a", now "b"): not committed; run again to read the new version'
    with pytest.raises(ObjectChanged) as raised:
        stream.read(4000)
    assert str(raised.value) == message
    assert source.opened_at == [0, 1000]  # not retried: a second try would read the new version's tail
    assert dict(policy.retried) == {"connection.ConnectionResetError": 1}
    with pytest.raises(ObjectChanged, match="changed while it was read"):
        stream.read(10)
    with pytest.raises(ObjectChanged, match="changed while it was read"):
        stream.seek(0)
    assert source.opened_at == [0, 1000]
