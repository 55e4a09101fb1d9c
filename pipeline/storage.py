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
import functools
import io
import json
import os
import urllib.error
import urllib.request
import uuid
from typing import Iterator

import fsspec

from pipeline.retry import ResumableInput, RetryPolicy

HTTP_TIMEOUT_S = 60  # a connect or a read that stalls this long is a transient failure: retried


def open_input(path: str, retry: RetryPolicy | None = None):
    """A buffered binary stream over a local or remote input file (compression is detected by the reader).

    A remote file is read through `ResumableInput`: a transient failure reconnects at the byte where the read
    stopped, under `retry` (its counter records what was retried)."""
    if "://" not in path or path.startswith("file://"):
        return open(path.removeprefix("file://"), "rb", buffering=1 << 20)
    if path.startswith(("http://", "https://")):
        open_at = functools.partial(_open_http_at, path)
    else:
        open_at = functools.partial(_open_object_at, *fsspec.core.url_to_fs(path))
    return io.BufferedReader(ResumableInput(path, open_at, retry or RetryPolicy()), buffer_size=1 << 20)


def _open_http_at(url: str, offset: int):
    """One streaming GET from `offset` on (a Range request after the start); returns (stream, total size).

    The standard library's client, not fsspec's: fsspec turns any failure of its size probe (a refused
    connection included) into FileNotFoundError, and aiohttp reads SSL_CERT_FILE only once, at import."""
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S)
    except urllib.error.HTTPError as e:
        if e.code in (404, 410):
            raise FileNotFoundError(f"{url}: HTTP {e.code}") from None
        if e.code in (401, 403):
            raise PermissionError(f"{url}: HTTP {e.code}") from None
        raise
    if offset and response.status != 206:  # the server ignored the Range header: skip to `offset` ourselves
        _discard(response, offset)
    if response.status == 206:
        total = response.headers.get("Content-Range", "").rpartition("/")[2]
        return response, int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return response, int(length) if length and length.isdigit() else None


def _open_object_at(fs, path: str, offset: int):
    """Object stores: large ranged reads (8 MB blocks) from `offset` on; returns (stream, total size)."""
    stream = fs.open(path, "rb", block_size=8 << 20)
    stream.seek(offset)
    return stream, stream.size


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
