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

import gzip
import io
import re
import uuid
from typing import Iterator

from readers.resync import read_block

MAX_HEADER_LINE = 64 << 10  # a URL line longer than this is not an ARC header
# The length has at most 18 digits: int() refuses 4,300 or more (ValueError), and 10^18 bytes is no record.
_HEADER = re.compile(rb"^(\S+) (\S+) (\d{14}) (\S*)(?: \S+)*? (\d{1,18})\r?\n$")
_GZIP_MAGIC = b"\x1f\x8b"


def arc_records(stream, path: str, max_block_bytes: int) -> Iterator[tuple[object | None, int, str | None]]:
    """(fastwarc record, offset, None) per ARC record, or (None, offset, error kind) for one that cannot be
    read (or is over `max_block_bytes`: skipped unread). Offsets are in the decompressed stream for a gzipped
    ARC."""
    from fastwarc.warc import ArchiveIterator

    source = gzip.GzipFile(fileobj=stream) if stream.peek(2)[:2] == _GZIP_MAGIC else stream
    offset, line = 0, source.readline(MAX_HEADER_LINE)
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
        block, consumed = read_block(source, length, max_block_bytes)
        if consumed < length:
            yield None, offset, "read.truncated"
            return
        if block is None:
            yield None, offset, "read.too_large"
            offset, line = offset + len(line) + length, source.readline(MAX_HEADER_LINE)
            continue
        for record in ArchiveIterator(io.BytesIO(_as_warc(header, block, f"{path}@{offset}")), parse_http=False):
            yield record, offset, None
        offset, line = offset + len(line) + length, source.readline(MAX_HEADER_LINE)


def _next_header(source, offset: int) -> tuple[int, bytes]:
    """Read up to the next line that parses as an ARC header: (its offset, the line), or (offset, b"")."""
    line = source.readline(MAX_HEADER_LINE)
    while line and not _HEADER.match(line):
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
