"""Where bytes come from and go to: local paths, s3://, https:// through fsspec.

Outputs are committed by writing a temporary name and renaming it (cc_net `tmp()`/`finalize()`): a
reader either sees the whole file or none of it. On object stores a rename is a copy, but the commit
marker (the stats file) is renamed last, so a half-copied part is never taken as committed.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from typing import Iterator

import fsspec


def open_input(path: str):
    """A buffered binary stream over a local or remote input file (compression is detected by the reader)."""
    if "://" not in path or path.startswith("file://"):
        return open(path.removeprefix("file://"), "rb", buffering=1 << 20)
    fs, remote_path = fsspec.core.url_to_fs(path)
    # A WARC is read front to back once: for HTTP one streaming GET (block_size=0, no Range requests),
    # for object stores large ranged reads.
    block_size = 0 if path.startswith(("http://", "https://")) else 8 << 20
    return io.BufferedReader(fs.open(remote_path, "rb", block_size=block_size), buffer_size=1 << 20)


def filesystem(url: str):
    fs, root = fsspec.core.url_to_fs(url)
    return fs, root


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


@contextlib.contextmanager
def atomic_path(fs, final: str) -> Iterator[str]:
    """Yield a temporary path next to `final`; on success rename it into place, on failure remove it."""
    tmp = f"{final}.tmp-{uuid.uuid4().hex[:8]}"
    fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
    try:
        yield tmp
        fs.mv(tmp, final)
    except BaseException:
        if fs.exists(tmp):
            fs.rm(tmp)
        raise


def remove_leftovers(fs, final: str) -> None:
    """Delete temporary files a killed attempt left next to `final` (SIGKILL runs no cleanup)."""
    for leftover in fs.glob(f"{final}.tmp-*"):
        fs.rm(leftover)


def write_json(fs, final: str, obj) -> None:
    with atomic_path(fs, final) as tmp:
        with fs.open(tmp, "w") as f:
            json.dump(obj, f, indent=1, sort_keys=True)


def read_json(fs, path: str):
    with fs.open(path, "r") as f:
        return json.load(f)


def write_text(fs, final: str, text: str) -> None:
    with atomic_path(fs, final) as tmp:
        with fs.open(tmp, "w") as f:
            f.write(text)


def makedirs(fs, path: str) -> None:
    fs.makedirs(path, exist_ok=True)
