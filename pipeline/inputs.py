"""Expand the `input` list into the ordered list of input files, before any work starts.

Accepted: local paths, directories (every WARC/WET/ARC file below), globs, `s3://` and `https://` URLs,
and CommonCrawl `*.paths` / `*.paths.gz` lists, whose relative entries resolve against `paths_base_url`.
The list is sorted and de-duplicated: a file's index in it is part of every document id, so the same
inputs always give the same ids, whatever order the user listed them in.
"""

from __future__ import annotations

import glob
import gzip
import io
import os

import fsspec

from core.storage import open_input
from pipeline.config import ConfigError

ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz", ".warc.wet.gz", ".arc", ".arc.gz")
_GLOB_CHARS = set("*?[")


def expand_inputs(patterns: tuple[str, ...], paths_base_url: str) -> list[str]:
    if not patterns:
        raise ConfigError("no input: set 'input' in the config or pass --input PATH_OR_GLOB...")
    files: set[str] = set()
    for pattern in patterns:
        found = _expand_one(pattern, paths_base_url)
        if not found:
            where = "" if "://" in pattern or os.path.isabs(pattern) else f" (relative to {os.getcwd()})"
            raise ConfigError(f"input {pattern!r} matched no file{where}")
        files.update(found)
    return sorted(files)


def _expand_one(pattern: str, paths_base_url: str) -> list[str]:
    if pattern.endswith((".paths", ".paths.gz")):
        return _read_paths_list(pattern, paths_base_url)
    if pattern.startswith(("http://", "https://")):
        return [pattern]  # no listing over HTTP: a URL names one file
    if "://" not in pattern:
        return _expand_local(pattern)
    fs, root = fsspec.core.url_to_fs(pattern)
    protocol = _protocol_prefix(pattern)
    if _GLOB_CHARS & set(root):
        return [protocol + p for p in fs.glob(root) if fs.isfile(p)]
    if fs.isdir(root):
        return [protocol + p for p in fs.find(root) if p.endswith(ARCHIVE_SUFFIXES)]
    return [pattern] if fs.exists(root) else []


def _expand_local(pattern: str) -> list[str]:
    """Local paths stay as the user wrote them (relative stays relative): they end up in `source`."""
    if _GLOB_CHARS & set(pattern):
        return [p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p)]
    if os.path.isdir(pattern):
        found = []
        for folder, _, names in os.walk(pattern):
            found += [os.path.join(folder, n) for n in names if n.endswith(ARCHIVE_SUFFIXES)]
        return found
    return [pattern] if os.path.exists(pattern) else []


def _read_paths_list(path: str, base_url: str) -> list[str]:
    try:
        with open_input(path) as f:  # over HTTP or S3 with the same retries as the WARC files
            raw = f.read()
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read paths list {path!r}: {e}") from None
    if path.endswith(".gz"):
        raw = gzip.GzipFile(fileobj=io.BytesIO(raw)).read()
    entries = [line.strip() for line in raw.decode("utf-8").splitlines() if line.strip()]
    return [e if "://" in e or e.startswith("/") else base_url.rstrip("/") + "/" + e for e in entries]


def _protocol_prefix(pattern: str) -> str:
    return pattern.split("://", 1)[0] + "://" if "://" in pattern else ""
