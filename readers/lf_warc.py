"""WARC/WET files whose lines end in a bare LF: each record framed here and handed on as a CRLF WARC record.

The WARC standard says CRLF, and fastwarc reads nothing else (an LF-only file is one corrupt record to it), but
some tools write LF (cc_net's own test sample does), and warcio and cc_net read them. Such a file is told from its
first line (`WARC/1.x` then LF, after any gzip). Its records are framed here: header lines up to the blank line
(at most MAX_HEADER_BYTES), then `Content-Length` bytes of block; each is rebuilt with CRLF header lines and
parsed by fastwarc, so every check and drop reason is the WARC reader's own (as readers/arc.py does for ARC).
A header that does not parse is one error; reading goes on at the next line that starts a record.
"""

from __future__ import annotations

import gzip
import io
import re
from typing import Iterator

from readers.resync import GZIP_MAGIC, MAX_HEADER_BYTES, read_block

_VERSION = re.compile(rb"^WARC/1\.[01]\r?\n$")
_LENGTH = re.compile(rb"^content-length:\s*(\d{1,18})\s*$", re.I)


def starts_lf_only(head: bytes) -> bool:
    """Is this (decompressed) first line of a file a WARC version line that ends in a bare LF?"""
    return head.startswith(b"WARC/1.") and head[8:9] == b"\n"


def lf_records(stream, path: str, max_block_bytes: int) -> Iterator[tuple[object | None, int, str | None]]:
    """(fastwarc record, offset, None) per record, or (None, offset, error kind) for one that cannot be read (or
    is over `max_block_bytes`: skipped unread). Offsets are in the decompressed stream for a gzipped file."""
    from fastwarc.warc import ArchiveIterator

    source = gzip.GzipFile(fileobj=stream) if stream.peek(2)[:2] == GZIP_MAGIC else stream
    offset = 0
    while True:
        offset, version = _next_version_line(source, offset)
        if not version:
            return
        start = offset
        lines, offset, length = _header(source, offset + len(version))
        if length is None:
            yield None, start, "read.corrupt_record"
            continue
        block, consumed = read_block(source, length, max_block_bytes)
        offset += consumed
        if consumed < length:
            yield None, start, "read.truncated"
            return
        if block is None:
            yield None, start, "read.too_large"
            continue
        record = b"WARC/1.0\r\n" + b"\r\n".join(lines) + b"\r\n\r\n" + block + b"\r\n\r\n"
        for parsed in ArchiveIterator(io.BytesIO(record), parse_http=False):
            yield parsed, start, None


def _next_version_line(source, offset: int) -> tuple[int, bytes]:
    """Skip blank lines (and anything else) up to the next `WARC/1.x` line: (its offset, the line) or (_, b"")."""
    while line := source.readline(MAX_HEADER_BYTES):
        if _VERSION.match(line):
            return offset, line
        offset += len(line)
    return offset, b""


def _header(source, offset: int) -> tuple[list[bytes], int, int | None]:
    """The header lines after the version line (without line ends), the offset after the blank line, and the
    Content-Length (None if absent or if the header is longer than MAX_HEADER_BYTES)."""
    lines, size, length = [], 0, None
    while (line := source.readline(MAX_HEADER_BYTES)) and line.strip(b"\r\n"):
        offset, size = offset + len(line), size + len(line)
        if size > MAX_HEADER_BYTES:
            return lines, offset, None
        lines.append(line.rstrip(b"\r\n"))
        if match := _LENGTH.match(lines[-1]):
            length = int(match.group(1))
    return lines, offset + len(line), length
