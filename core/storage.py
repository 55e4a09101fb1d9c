"""Where bytes come from and go to: local paths and s3:// through fsspec, http(s):// through the standard library.

Outputs are committed so that a reader sees the whole file or none of it. On a local or shared filesystem
that takes a temporary name and a rename (cc_net `tmp()`/`finalize()`). On an object store a PUT (or a
completed multipart upload) is already atomic and a rename would be a second, full copy: files are written
straight to their final key, and a write that fails is abandoned (its multipart upload aborted) rather than
completed. A killed writer leaves an incomplete multipart upload, invisible to readers (a bucket lifecycle
rule `AbortIncompleteMultipartUpload` reclaims it). Either way the commit marker is written last.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import urllib.error
import urllib.request
import uuid
from typing import Iterator

import fsspec

from core.retry import ResumableInput, RetryPolicy, Version, object_changed

HTTP_TIMEOUT_S = 60  # a connect or a read that stalls this long is a transient failure: retried


def open_input(path: str, retry: RetryPolicy | None = None):
    """A buffered binary stream over a local or remote input file (compression is detected by the reader).

    A remote file is read through `ResumableInput`: a transient failure reconnects at the byte where the read
    stopped, under `retry` (its counter records what was retried), and only to the version of the file the
    read started on: a file replaced in between raises `ObjectChanged` (core/retry.py)."""
    if "://" not in path or path.startswith("file://"):
        return open(path.removeprefix("file://"), "rb", buffering=1 << 20)
    if path.startswith(("http://", "https://")):
        open_at = _HttpInput(path)
    else:
        open_at = _ObjectInput(path, *fsspec.core.url_to_fs(path))
    return io.BufferedReader(ResumableInput(path, open_at, retry or RetryPolicy()), buffer_size=1 << 20)


class _Versioned:
    """An opener that remembers the version its first open found and fails any later open that finds another."""

    def __init__(self, url: str):
        self.url = url
        self.version: Version | None = None

    def check(self, version: Version) -> None:
        if self.version is None:
            self.version = version
        elif change := version.change_from(self.version):
            raise object_changed(self.url, change)


class _HttpInput(_Versioned):
    """One streaming GET per call, from `offset` on (a Range request after the start); returns (stream, size).

    The first answer's ETag, Last-Modified and size are the version being read. A resume asks for that version
    only (`If-Range`: a server whose file changed answers 200 with the whole new file, not 206), and every
    answer's validators are checked too, for servers that ignore `If-Range`.

    The standard library's client, not fsspec's: fsspec turns any failure of its size probe (a refused
    connection included) into FileNotFoundError, and aiohttp reads SSL_CERT_FILE only once, at import."""

    def __call__(self, offset: int):
        headers = {}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if validator := self.version and self.version.if_range():
                headers["If-Range"] = validator
        request = urllib.request.Request(self.url, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S)
        except urllib.error.HTTPError as e:
            if e.code in (404, 410):
                raise FileNotFoundError(f"{self.url}: HTTP {e.code}") from None
            if e.code in (401, 403):
                raise PermissionError(f"{self.url}: HTTP {e.code}") from None
            if e.code == 416 and self.version is not None:  # the file may now end before `offset`
                self.check(Version(size=_range_total(e.headers)))
            raise
        try:
            if response.status == 206:
                total = _range_total(response.headers)
            else:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
            self.check(Version(response.headers.get("ETag"), response.headers.get("Last-Modified"), total))
            if offset and response.status != 206:  # the server ignored the Range header: skip to `offset` ourselves
                _discard(response, offset)
        except BaseException:
            response.close()
            raise
        return response, total


def _range_total(headers) -> int | None:
    """The whole file's size from a Content-Range header (`bytes 0-99/1234`, or `bytes */1234` with a 416)."""
    total = (headers.get("Content-Range") or "").rpartition("/")[2]
    return int(total) if total.isdigit() else None


OBJECT_BLOCK_BYTES = 8 << 20  # object stores: each ranged GET reads this much past what was asked


class _ObjectInput(_Versioned):
    """Object stores through fsspec: large ranged reads from `offset` on; returns (stream, size).

    Each open looks the object up afresh (not in a listing cached earlier) and checks its ETag, LastModified
    and size against the first open's; then every GetObject of the open file is conditional on the first
    open's ETag (s3fs's `IfMatch`: S3 answers 412 PreconditionFailed to a replaced object, and s3fs raises
    FileExpired). Either way a replaced object raises ObjectChanged, never splices."""

    def __init__(self, url: str, fs, path: str):
        super().__init__(url)
        self.fs, self.path = fs, path

    def __call__(self, offset: int):
        self.fs.invalidate_cache(self.path)
        stream = self.fs.open(self.path, "rb", block_size=OBJECT_BLOCK_BYTES)
        try:
            self.check(_object_version(stream.details))
            read_kw = getattr(stream, "read_kw", None)  # s3fs: the arguments of every GetObject of this file
            if self.version.etag and isinstance(read_kw, dict) and not getattr(self.fs, "local_expiry_check", 0):
                stream.read_kw = {**read_kw, "IfMatch": self.version.etag}  # what s3fs sends, made explicit
            stream.seek(offset)
        except BaseException:
            stream.close()
            raise
        return _PinnedObject(stream, self), stream.size

    def changed_under(self, error: Exception) -> Exception:
        """The ObjectChanged for a conditional GET refused (412), naming the new version where it can."""
        try:
            self.fs.invalidate_cache(self.path)
            now = _object_version(self.fs.info(self.path))
        except Exception:  # deleted, or the store unreachable: the old ETag still says what was refused
            now = Version()
        change = now.change_from(self.version) or f"ETag {self.version.etag}, now another"
        return object_changed(self.url, change)


class _PinnedObject:
    """An open object-store file whose refused conditional GETs raise ObjectChanged (s3fs raises FileExpired, an
    OSError with errno EBUSY, which would otherwise be retried as S3's SlowDown is)."""

    def __init__(self, stream, opener: _ObjectInput):
        self.stream, self.opener = stream, opener

    def read(self, n: int = -1) -> bytes:
        try:
            return self.stream.read(n)
        except Exception as e:
            if _precondition_failed(e):
                raise self.opener.changed_under(e) from e
            raise

    def close(self) -> None:
        self.stream.close()


def _precondition_failed(error: Exception) -> bool:
    if type(error).__name__ == "FileExpired":  # s3fs.utils.FileExpired
        return True
    text = str(error)
    return "PreconditionFailed" in text or (isinstance(error, OSError) and "pre-condition" in text)


def _object_version(details: dict) -> Version:
    """The validators fsspec's info() gives: s3fs `ETag`/`LastModified`, gcsfs and adlfs `etag`, and the size."""
    etag = details.get("ETag") or details.get("etag")
    modified = details.get("LastModified") or details.get("last_modified") or details.get("updated")
    size = details.get("size")
    return Version(str(etag) if etag else None, str(modified) if modified else None, size)


def _discard(stream, n: int) -> None:
    while n > 0:
        chunk = stream.read(min(n, 1 << 20))
        if not chunk:
            raise ConnectionResetError(f"stream ended {n} bytes before the resume point")
        n -= len(chunk)


def filesystem(url: str):
    fs, root = fsspec.core.url_to_fs(url)
    return fs, root


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def is_local(fs) -> bool:
    """A filesystem with cheap listings and real renames (not an object store)."""
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else fs.protocol
    return bool({"file", "local"} & set(protocols))


@contextlib.contextmanager
def atomic_path(fs, final: str) -> Iterator[str]:
    """Yield a temporary path next to `final` (local filesystems); on success rename it into place, on failure
    remove it. Object stores: use `open_for_commit`."""
    tmp = f"{final}.tmp-{uuid.uuid4().hex[:8]}"
    fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
    try:
        yield tmp
        fs.mv(tmp, final)
    except BaseException:
        if fs.exists(tmp):
            fs.rm(tmp)
        raise


@contextlib.contextmanager
def open_for_commit(fs, final: str):
    """A binary file that appears at `final` whole when the block ends, and never if it raises."""
    if is_local(fs):
        with atomic_path(fs, final) as tmp, fs.open(tmp, "wb") as f:
            yield f
        return
    f = fs.open(final, "wb")
    try:
        yield f
    except BaseException:
        _abandon(f)
        raise
    f.close()


def _abandon(f) -> None:
    """Drop an unfinished object-store write: closing it would commit what was written so far."""
    discard = getattr(f, "discard", None)
    if discard is not None:
        discard()  # s3fs: aborts the multipart upload
    f.closed = True


def remove_leftovers(fs, folder: str) -> int:
    """Delete the temporary files killed attempts left anywhere under `folder` (SIGKILL runs no cleanup).

    Only local filesystems have them (object-store writes have no temporary name), and there a walk is
    cheap; returns how many were removed."""
    if not is_local(fs) or not fs.exists(folder):
        return 0
    removed = 0
    for root, _, names in os.walk(fs._strip_protocol(folder)):
        for name in names:
            if ".tmp-" in name:
                # A straggler worker of a killed run may still rename its file between the walk and here (seen
                # under load: the re-run then failed at its very end): gone is what we wanted.
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(root, name))
                    removed += 1
    return removed


def list_names(fs, folder: str) -> set[str]:
    """The names of the files directly in `folder` (one listing; empty if it does not exist)."""
    try:
        return {p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(folder, detail=False)}
    except FileNotFoundError:
        return set()


def write_json(fs, final: str, obj) -> None:
    write_bytes(fs, final, json.dumps(obj, indent=1, sort_keys=True).encode())


def write_bytes(fs, final: str, data: bytes) -> None:
    with open_for_commit(fs, final) as f:
        f.write(data)


def read_json(fs, path: str):
    with fs.open(path, "r") as f:
        return json.load(f)


def write_text(fs, final: str, text: str) -> None:
    write_bytes(fs, final, text.encode())


def makedirs(fs, path: str) -> None:
    fs.makedirs(path, exist_ok=True)
