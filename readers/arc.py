"""Legacy ARC files (CommonCrawl 2008-2012, Internet Archive): each record read as the WARC response it would be.

ARC v1 (https://archive.org/web/researcher/ArcFileFormat.php): a `filedesc://` record, then records of one
header line `URL IP-address Archive-date Content-type [...] Archive-length`, `Archive-length` bytes (the HTTP
response as fetched: status line, headers, body), and a newline. Plain or gzipped (one member per record).
warcio's ARC reader refuses CommonCrawl's early files ("Unknown archive format" after the filedesc record), so
the records are framed here and each is handed to fastwarc as a WARC `response` record: the HTTP parsing, the
checks and the drop reasons are the WARC reader's own. A header line that does not parse, or a length that runs
past the end of the file, is one error; reading goes on at the next line that looks like an ARC header.
"""

from __future__ import annotations

import io
import re
import uuid
import zlib
from typing import Iterator

from readers.resync import occurrences, read_block

MAX_HEADER_LINE = 64 << 10  # a URL line longer than this is not an ARC header
# The length has at most 18 digits: int() refuses 4,300 or more (ValueError), and 10^18 bytes is no record.
_HEADER = re.compile(rb"^(\S+) (\S+) (\d{14}) (\S*)(?: \S+)*? (\d{1,18})\r?\n$")
_HEADER_START = re.compile(rb"(?:https?|ftp|dns|filedesc)://\S* \S+ \d{14} ")
_GZIP_MAGIC = b"\x1f\x8b"
_MEMBER_START = b"\x1f\x8b\x08"


def arc_records(stream, path: str, max_block_bytes: int) -> Iterator[tuple[object | None, int, str | None]]:
    """(fastwarc record, offset, None) per ARC record, or (None, offset, error kind) for one that cannot be
    read (or is over `max_block_bytes`: skipped unread). Offsets are in the decompressed stream for a gzipped
    ARC."""
    if stream.peek(2)[:2] == _GZIP_MAGIC:
        yield from _gzip_records(stream, path, max_block_bytes)
    else:
        yield from _records(stream, path, max_block_bytes, 0)


def _gzip_records(stream, path: str, max_block_bytes: int):
    """A gzipped ARC member by member (one record each, as CommonCrawl wrote them): a broken member (bad CRC, cut,
    over the size limit) is one error, and reading goes on at the next member that holds an ARC header."""
    raw, decompressed = 0, 0
    while raw is not None:
        data, end = _member(stream, raw, max_block_bytes + MAX_HEADER_LINE + 2)
        if data is None and end is None:
            return  # the end of the file
        if data is None:
            yield None, decompressed, "read.truncated"
            raw = _next_arc_member(stream, raw)
            continue
        yield from _records(io.BufferedReader(io.BytesIO(data)), path, max_block_bytes, decompressed)
        raw, decompressed = end, decompressed + len(data)


def _member(stream, at: int, limit: int) -> tuple[bytes | None, int | None]:
    """(the member at `at` decompressed, where it ends); (None, at) if it is broken or over `limit` bytes;
    (None, None) at the end of the file."""
    stream.seek(at)
    if not stream.peek(1):
        return None, None
    decoder, out, consumed = zlib.decompressobj(wbits=31), bytearray(), 0
    while not decoder.eof and (chunk := stream.read(1 << 16)):
        try:
            out += decoder.decompress(chunk, limit + 1 - len(out))
        except zlib.error:
            return None, at
        if len(out) > limit or decoder.unconsumed_tail:
            return None, at
        consumed += len(chunk) - len(decoder.unused_data)
    return (bytes(out), at + consumed) if decoder.eof else (None, at)


def _next_arc_member(stream, at: int) -> int | None:
    """The next gzip member after `at` whose first line is an ARC header (or the file description)."""
    for hit in occurrences(stream, _MEMBER_START, at + 1):
        stream.seek(hit)
        try:
            head = zlib.decompressobj(wbits=31).decompress(stream.read(4096), MAX_HEADER_LINE)
        except zlib.error:
            continue
        if _HEADER.match(head.split(b"\n", 1)[0] + b"\n"):
            return hit
    return None


def _records(source, path: str, max_block_bytes: int, base: int):
    """The records of an uncompressed ARC stream (or of one member), offsets from `base`."""
    from fastwarc.warc import ArchiveIterator

    offset, line = base, source.readline(MAX_HEADER_LINE)
    while line:
        header = _HEADER.match(line)
        if header is None and line.strip():
            yield None, offset, "read.corrupt_record"
            offset, line = _next_header(source, offset + len(line))
            continue
        if header is None:  # the newline after a record
            offset, line = offset + len(line), source.readline(MAX_HEADER_LINE)
            continue
        length = int(header.group(5))
        block_start = source.tell()
        block, consumed = read_block(source, length, max_block_bytes)
        if not _ends_record(source, block, consumed, length):
            # The length lies (a newline or the end of the file follows every record): the records after it are
            # found again by their header lines, from where its block starts.
            yield None, offset, "read.bad_length" if consumed == length else "read.truncated"
            source.seek(block_start)
            offset, line = _next_header(source, offset + len(line))
            continue
        if block is None:
            yield None, offset, "read.too_large"
            offset, line = offset + len(line) + length, source.readline(MAX_HEADER_LINE)
            continue
        for record in ArchiveIterator(io.BytesIO(_as_warc(header, block, f"{path}@{offset}")), parse_http=False):
            yield record, offset, None
        offset, line = offset + len(line) + length, source.readline(MAX_HEADER_LINE)


def _ends_record(source, block: bytes | None, consumed: int, length: int) -> bool:
    """Did the block end where the header said: all of it read, and a newline at its end (CommonCrawl's 2008
    file descriptions count it in their length) or after it, or the end of the stream?"""
    if consumed != length:
        return False
    return (block or b"").endswith(b"\n") or source.peek(1)[:1] in (b"", b"\n", b"\r")


def _next_header(source, offset: int) -> tuple[int, bytes]:
    """Read up to the next line that parses as an ARC header: (its offset, the line), or (offset, b"")."""
    line = source.readline(MAX_HEADER_LINE)
    while line and not _HEADER.match(line):
        inside = _HEADER_START.search(line, 1)  # a record cut short runs into the next header line
        if inside and _HEADER.match(line[inside.start() :]):
            return offset + inside.start(), line[inside.start() :]
        offset, line = offset + len(line), source.readline(MAX_HEADER_LINE)
    return offset, line


def _as_warc(header: re.Match, block: bytes, where: str) -> bytes:
    url, ip, date = (header.group(i).decode("latin-1") for i in (1, 2, 3))
    warc_type = "warcinfo" if url.startswith("filedesc:") else "response"
    fields = [
        ("WARC-Type", warc_type),
        ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, where)}>"),  # stable: file and offset
        ("WARC-Date", f"{date[:4]}-{date[4:6]}-{date[6:8]}T{date[8:10]}:{date[10:12]}:{date[12:14]}Z"),
        ("WARC-Target-URI", url),
        ("WARC-IP-Address", ip),
        ("Content-Type", "application/http; msgtype=response"),
        ("Content-Length", str(len(block))),
    ]
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"
    return head.encode("utf-8", errors="replace") + block + b"\r\n\r\n"
