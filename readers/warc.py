"""`read`: WARC/WET records from one input file, as rows for the per-document stages.

Only `response` (WARC) and `conversion` (WET) records are documents: CommonCrawl WARCs also hold a
`request` and a `metadata` record per page, which are counted by type in the file's stats and skipped.
A document row leaves here already dropped (`drop_reason`) when it cannot be a web page we want:
not HTML, an HTTP error status, an empty body, or a payload over `max_payload_bytes`. A record that
cannot be read at all (truncated gzip, corrupt header) is an `error` row: the rest of the file goes on.

fastwarc reads .warc.gz 2.6x faster than warcio (14,000 vs 5,300 records/s, measured on this project's machines).
"""

from __future__ import annotations

import collections
import contextlib
import io
import re
import zlib
from dataclasses import dataclass
from typing import Iterator, Mapping

from core.contracts import Contract
from core.html import is_wide_unicode
from core.registry import param, register
from core.retry import RetryPolicy
from core.storage import open_input
from readers.arc import arc_records
from readers.lf_warc import lf_records, starts_lf_only
from readers.resync import (
    GZIP_MAGIC,
    MAX_RECORD_BYTES,
    WatchedInput,
    first_record_start,
    next_record_start,
    record_end,
)

# datatrove's WarcReader keeps the same two MIME types (plus text/plain for WET conversion records).
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Possessive (*+): with a backtracking group, 22 empty comments before a non-tag took 0.5 s, 30 would take minutes.
_SNIFF_HTML = re.compile(rb"^\s*(?:<!--.*?-->\s*)*+<(!doctype\s+html|html|head|body)", re.I | re.S)


class UnsupportedInput(Exception):
    """The whole file cannot be read (missing, forbidden, ARC, not a WARC at all); reported per file."""


@dataclass(frozen=True)
class ReadConfig:
    max_payload_bytes: int = param(
        5_000_000,
        "skip larger HTTP bodies unread (CommonCrawl truncates at 1 MiB; bigger pages stall extraction)",
        ge=1,
    )
    content_types: tuple[str, ...] = param(HTML_TYPES, "payload MIME types kept (datatrove WarcReader's list)")
    ok_status_only: bool = param(True, "drop responses whose HTTP status is not 2xx (404 pages, redirects)")
    quirks_mode: bool = param(
        False,
        "fastwarc's lenient parsing: skips unparsable bytes up to the next header silently, so a record whose "
        "Content-Length is wrong swallows the next one uncounted; off, that is one `read.bad_length` error and the "
        "next record is kept (every real WARC in ../shared/data parses either way)",
    )


READ_CONTRACT = Contract(
    provides=("html", "url"),
    drop_reasons=("not_http", "bad_http", "http_status", "not_html", "too_large", "empty", "binary", "bad_encoding"),
    errors=("corrupt_record", "truncated", "bad_length"),
)


@register("read", ReadConfig, kind="source", contract=READ_CONTRACT)
class WarcReader:
    """Read response/conversion records of a WARC, WET or legacy ARC file (local, glob, s3://, https://; .gz or
    plain)."""

    def __init__(self, cfg: ReadConfig):
        self.cfg = cfg
        self.record_types: collections.Counter[str] = collections.Counter()
        self.position: tuple[int, int | None] = (0, None)  # bytes of the file read so far, and its size
        self.state = _ReadState("", 0, {})
        self.size = lambda: None

    def __call__(
        self, path: str, file_index: int, retry: RetryPolicy | None = None, skip: Mapping[int, str] | None = None
    ) -> Iterator[dict]:
        """Rows of one file; transient failures of a remote read are retried under `retry`. A read that fails
        for good raises (the file is not committed); a record that cannot be read is an error row. `skip`:
        record ordinal -> error kind, for records not to be read at all (quarantined by an earlier attempt)."""
        state = self.state = _ReadState(path, file_index, skip or {})
        with _open_supported(path, retry) as (watched, stream, framing):
            self.size = watched.size  # a remote file's size is known once its read has connected
            self.position = (0, watched.size())
            if framing is None:
                yield from self._warc_rows(watched, stream, state)
            else:  # ARC, or a WARC with LF line ends: records framed by our own code, parsed by fastwarc
                records = framing(stream, path, self.cfg.max_payload_bytes)
                yield from self._framed_rows(_until_broken(records, watched), state)
            self.position = (self.position[1] or stream.tell(), self.position[1])  # read to the end
        if state.ordinal == 0 and not self.record_types:
            raise UnsupportedInput(f"{path}: no WARC record found: not a WARC/WET file, or empty")

    def _framed_rows(self, records, state: _ReadState) -> Iterator[dict]:
        for record, offset, error in records:
            if error is not None:
                yield state.error_row(offset, error)
                continue
            self.record_types[str(record.record_type)] += 1
            self.position = (offset, self.position[1])  # of the decompressed stream for a gzipped file
            if _is_document(record):
                yield self._row(record, state, offset)

    def _warc_rows(self, watched: WatchedInput, stream, state: _ReadState) -> Iterator[dict]:
        base, gzipped = first_record_start(stream)
        if base is None:
            raise UnsupportedInput(f"{state.path}: no WARC record found: not a WARC/WET file")
        if base > 0:  # bytes before the first record: counted as one corrupt record, the file is read
            yield state.error_row(0, "read.corrupt_record")
        while base is not None:
            broken = yield from self._segment(watched, stream, state, base, gzipped)
            base = None if broken is None else (yield from self._resync(stream, state, broken, gzipped))

    def _segment(self, watched: WatchedInput, stream, state: _ReadState, base: int, gzipped: bool):
        """Rows of the records from byte `base` on, each yielded once the record after it was parsed (a record
        whose Content-Length is wrong is found out by the next header). Returns None at the end of the file, or
        `_Broken` at a record that cannot be read."""
        from fastwarc.warc import ArchiveIterator

        stream.seek(base)
        records = ArchiveIterator(stream, parse_http=False, quirks_mode=self.cfg.quirks_mode)
        held: _Held | None = None
        while True:
            try:
                record = next(records)
            except StopIteration:  # or so fastwarc says: an empty gzip member mid-file looks like the end too
                watched.raise_if_failed()
                if held is None and base > 0 and _bytes_at(stream, base):  # where a record was found, none read
                    return _Broken(base, None, "read.corrupt_record")
                return None if held is None else _Broken(held.position, held, "read.truncated", at_end=True)
            except (OSError, ValueError) as e:  # fastwarc's errors on corrupt or truncated input
                watched.raise_if_failed()
                return _Broken(base if held is None else held.position, held, _error_kind(e))
            if held is not None and held.row is not None:
                yield held.row
            self.position = (stream.tell(), self.position[1])
            self.record_types[str(record.record_type)] += 1
            position = record.stream_pos  # fastwarc reports the absolute offset in the stream
            length = record.content_length  # the WARC block's: parse_http makes it the HTTP body's
            try:
                row = self._row(record, state, position) if _is_document(record) else None
                if str(record.record_type) == "unknown":  # WARC-Type is mandatory: a damaged header
                    row = state.error_row(position, "read.corrupt_record")
            except (OSError, ValueError) as e:  # the block itself is corrupt (bad deflate data in its member)
                watched.raise_if_failed()
                return _Broken(position, None, _error_kind(e))
            held = _Held(position, length, row)

    def _resync(self, stream, state: _ReadState, broken: _Broken, gzipped: bool):
        """Count the broken record and return where to go on (None: nowhere). When a record was read just before,
        the fault is either its Content-Length (it does not end where the next record starts: it is the error)
        or the next record itself (the one that starts where it ends)."""
        held = broken.held
        if held is None:  # the record at `position` is broken
            resume = next_record_start(stream, broken.position, gzipped)
            if resume is None and not self.record_types:
                raise UnsupportedInput(f"{state.path}: no WARC record found: not a WARC/WET file")
            yield state.error_row(broken.position, broken.kind)
            return resume
        end = record_end(stream, held.position, held.content_length, gzipped)
        resume = None if end is not None else next_record_start(stream, held.position, gzipped)
        if end is None and (resume is not None or not broken.at_end):
            # Its Content-Length lies: records follow where it says it goes on (or the next header is garbage).
            yield state.error_row(held.position, "read.bad_length", ordinal=held.ordinal)
            return resume
        if held.row is not None:
            yield held.row  # a last record without its closing blank line, or the file simply ends in it
        if broken.at_end:
            return None if end is None else _records_after(stream, end, gzipped, self.size())
        yield state.error_row(end, broken.kind)
        return next_record_start(stream, end, gzipped)

    @property
    def next_ordinal(self) -> int:
        """The ordinal the next document or error row will get (what the record watchdog is told)."""
        return self.state.ordinal

    def _row(self, record, state: _ReadState, offset: int) -> dict:
        row = state.document_row(record, offset)
        skipped = state.skip.get(row["doc_id"] & 0xFFFFFFFF)
        if skipped is not None:  # quarantined: counted as its error, never parsed again
            return state.error_row(offset, skipped, ordinal=row["doc_id"] & 0xFFFFFFFF)
        reason = self._check_headers(record)
        if reason is not None:
            row["drop_reason"] = reason
            return row
        block = record.reader.read()
        if len(block) < record.content_length:  # the file ends inside this record
            return state.error_row(offset, "read.truncated", ordinal=row["doc_id"] & 0xFFFFFFFF)
        if str(record.record_type) == "conversion":
            row["text"] = block.decode("utf-8", errors="replace")
            row["drop_reason"] = None if row["text"].strip() else "read.empty"
            return row
        record.set_bytes_content(_crlf_http_head(block))
        reason = self._check_http(record)
        if reason is None:
            body, reason = _decoded_body(record, self.cfg.max_payload_bytes)
            reason = reason or _body_problem(record, body, self.cfg)
            row["html"] = body if reason is None else None
            row["charset"] = record.http_charset
        row["drop_reason"] = reason
        return row

    def _check_headers(self, record) -> str | None:
        """Decide from the WARC header alone, before reading the block: a 50 MB image costs nothing."""
        if record.content_length > self.cfg.max_payload_bytes:
            return "read.too_large"
        if str(record.record_type) == "conversion":
            return None
        url = (record.headers.get("WARC-Target-URI") or "").strip("<>").lower()
        if not url.startswith(("http://", "https://")):
            return "read.not_http"  # Heritrix stores DNS lookups as `dns:` response records
        return None

    def _check_http(self, record) -> str | None:
        try:
            record.parse_http(auto_decode="none")
        except Exception:
            return "read.bad_http"
        if not record.is_http_parsed or record.http_headers.status_code is None:
            return "read.bad_http"  # not an HTTP response at all (fastwarc parses any text as a status line)
        status = record.http_headers.status_code
        if self.cfg.ok_status_only and not (status and 200 <= status < 300):
            return "read.http_status"
        mime = _declared_type(record)
        if mime is not None and mime not in self.cfg.content_types:
            return "read.not_html"
        return None


def _bytes_at(stream, position: int) -> bool:
    stream.seek(position)
    return bool(stream.read(1))


def _until_broken(records, watched: WatchedInput):
    """A framed reader's records until its stream breaks (a bad CRC, a cut gzip member): then one error, and the
    end. A gzip stream cannot be resynced from inside; a failure of the input itself still fails the file."""
    while True:
        try:
            item = next(records)
        except StopIteration:
            return
        except (OSError, EOFError, zlib.error) as e:
            watched.raise_if_failed()
            yield None, 0, _error_kind(e)
            return
        yield item


def _records_after(stream, end: int, gzipped: bool, size: int | None) -> int | None:
    """Where a record starts after `end`, where fastwarc saw the end of the file: None at the real end (known
    from the file's size without a request, when it is known). fastwarc stops at an empty gzip member, and the
    records after it would be lost without a trace."""
    if size is not None and end >= size:
        return None
    stream.seek(end)
    if not stream.read(1):
        return None
    return next_record_start(stream, end - 1, gzipped)


def _decoded_body(record, max_bytes: int) -> tuple[bytes, str | None]:
    """The HTTP body with transfer and content encodings undone, or a drop reason if that fails.

    Crawlers often store the body already decoded but keep `Content-Encoding: gzip` (seen in the 2014
    CommonCrawl sample): a body that does not decompress but looks like HTML is taken as it is. A body that
    decompresses to more than `max_bytes` is dropped as soon as it passes the limit (192 KB of gzip can hold
    100 MB of HTML: decompressing it whole would take the worker's memory, and lxml would parse it where no
    time limit reaches). Every coding listed is undone, last first (RFC 9110 8.4), and a body still gzipped
    after that (a server that compressed a compressed file) once more, at most `MAX_CODINGS` in all.
    """
    import brotli

    body = record.reader.read()
    headers = record.http_headers
    try:
        if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
            body = _dechunk(body, max_bytes)
        codings = [c.strip().lower() for c in (headers.get("Content-Encoding") or "").split(",")]
        codings = [c for c in codings if c in _DECODERS]  # identity, or a label that is no coding (charsets)
        if len(codings) > MAX_CODINGS:
            raise ValueError("too many content codings")
        for coding in reversed(codings):
            body = _DECODERS[coding](body, max_bytes)
        while body[:2] == GZIP_MAGIC and len(codings) < MAX_CODINGS:
            body, codings = _decompress(body, max_bytes), [*codings, "gzip"]
    except _TooLarge:
        return b"", "read.too_large"
    except (ValueError, zlib.error, brotli.error):
        if not _SNIFF_HTML.match(body[:2048]):
            return b"", "read.bad_encoding"
    return body, None


MAX_CODINGS = 3  # content codings undone per body; each may multiply the size, all within max_payload_bytes


class _TooLarge(Exception):
    pass


def _decompress(body: bytes, max_bytes: int) -> bytes:
    """gzip or zlib (wbits 47 detects either), else raw deflate as some servers send; at most `max_bytes`."""
    try:
        decoder = zlib.decompressobj(wbits=47)
        out = decoder.decompress(body, max_bytes + 1)
    except zlib.error:
        decoder = zlib.decompressobj(wbits=-15)
        out = decoder.decompress(body, max_bytes + 1)
    if len(out) > max_bytes:
        raise _TooLarge
    return out


def _unbrotli(body: bytes, max_bytes: int) -> bytes:
    """Brotli (`br`, what most servers send browsers today), stopped as soon as it passes `max_bytes`."""
    import brotli

    out = brotli.Decompressor().process(body, output_buffer_limit=max_bytes + 1)
    if len(out) > max_bytes:
        raise _TooLarge
    return out


_DECODERS = {"gzip": _decompress, "x-gzip": _decompress, "deflate": _decompress, "br": _unbrotli}
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")  # int(x, 16) alone would take "-6" or " 1_0 "


def _dechunk(body: bytes, max_bytes: int) -> bytes:
    """Undo `Transfer-Encoding: chunked`. Each step moves past a size line and its chunk, so the loop ends; a
    size that is not hex is an error; a body cut before the last chunk keeps what arrived (as browsers do)."""
    out, pos = bytearray(), 0
    while pos < len(body):
        end = body.find(b"\n", pos)
        field = body[pos : len(body) if end < 0 else end].split(b";")[0].strip()
        if not _CHUNK_SIZE.fullmatch(field):
            raise ValueError(f"bad chunk size {field[:20]!r}")
        size = int(field, 16)
        if size == 0 or end < 0:
            break
        out += body[end + 1 : end + 1 + size]
        if len(out) > max_bytes:
            raise _TooLarge
        pos = end + 1 + size
        pos += 2 if body[pos : pos + 2] == b"\r\n" else 1 if body[pos : pos + 1] == b"\n" else 0
    return bytes(out)


def _body_problem(record, body: bytes, cfg: ReadConfig) -> str | None:
    if not body.strip():
        return "read.empty"
    # No HTML page holds NUL bytes, but for one in UTF-16/32; images and archives served as text/html do.
    if b"\x00" in body[:8192] and not is_wide_unicode(body, record.http_charset):
        return "read.binary"
    return _sniff_type(record, body, cfg)


_HTTP_HEAD_BYTES = 64 << 10  # fastwarc's own limit on an HTTP header block


def _crlf_http_head(block: bytes) -> bytes:
    """The block with its HTTP head's line ends made CRLF: some writers store LF-only heads (cc_net's sample),
    which fastwarc would take as one status line with no headers and an empty body."""
    if not block.startswith(b"HTTP/"):
        return block
    lf_end = block.find(b"\n\n", 0, _HTTP_HEAD_BYTES)
    crlf_end = block.find(b"\r\n\r\n", 0, _HTTP_HEAD_BYTES)
    if lf_end < 0 or 0 <= crlf_end < lf_end:
        return block
    head = block[:lf_end].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return head + b"\r\n\r\n" + block[lf_end + 2 :]


def _is_document(record) -> bool:
    from fastwarc.warc import WarcRecordType

    return bool(int(record.record_type & (WarcRecordType.response | WarcRecordType.conversion)))


class _ReadState:
    """The file being read and the next record ordinal, across the restarts that skip a broken record."""

    def __init__(self, path: str, file_index: int, skip: Mapping[int, str]):
        self.path, self.file_index, self.skip = path, file_index, skip
        self.ordinal = 0

    def _next_doc_id(self, ordinal: int | None) -> int:
        if ordinal is None:
            ordinal, self.ordinal = self.ordinal, self.ordinal + 1
        return (self.file_index << 32) | ordinal  # stable: input-file index and record ordinal

    def document_row(self, record, offset: int) -> dict:
        headers = record.headers
        row = self.error_row(offset, None)
        row.update(
            id=headers.get("WARC-Record-ID"),
            url=(headers.get("WARC-Target-URI") or "").strip("<>") or None,
            date=headers.get("WARC-Date"),
            # a Content-Length past 2^63 does not fit the int64 column (and is a lie): kept as unknown
            content_length=record.content_length if record.content_length <= MAX_RECORD_BYTES else None,
        )
        return row

    def error_row(self, position: int, kind: str | None, ordinal: int | None = None) -> dict:
        """A row for the record at `position`: an error of `kind` (a document row when None). `ordinal`: the
        record's, when it replaces a row already numbered; else the next one."""
        return {
            "doc_id": self._next_doc_id(ordinal),
            "id": None,
            "url": None,
            "date": None,
            "source": f"{self.path}@{position}",
            "html": None,
            "charset": None,
            "content_length": None,
            "text": None,
            "drop_reason": None,
            "error": kind,
        }


@dataclass(frozen=True)
class _Held:
    """The last record read, not yet yielded: `row` is None for a record that is not a document."""

    position: int
    content_length: int
    row: dict | None

    @property
    def ordinal(self) -> int | None:
        return None if self.row is None else self.row["doc_id"] & 0xFFFFFFFF


@dataclass(frozen=True)
class _Broken:
    """A record that could not be read. `held`: the record read just before it in this segment (None if
    none), whose own length may be the fault; else `position`: where the broken record starts. With `at_end`,
    the file ended inside or after `held`: a Content-Length running past the end of the file swallows every
    record after it, so the rest of the file is searched for them."""

    position: int
    held: _Held | None
    kind: str
    at_end: bool = False  # the file ended after `held`: nothing broken follows it, unless its length lies


def _declared_type(record) -> str | None:
    """CommonCrawl's own detection (WARC-Identified-Payload-Type) first, then the server's Content-Type."""
    identified = record.headers.get("WARC-Identified-Payload-Type")
    declared = identified or record.http_content_type
    return declared.split(";")[0].strip().lower() if declared else None


def _sniff_type(record, body: bytes, cfg: ReadConfig) -> str | None:
    """No declared type at all: keep the body only if it starts like an HTML document."""
    if _declared_type(record) is not None:
        return None
    return None if _SNIFF_HTML.match(body[:2048]) and "text/html" in cfg.content_types else "read.not_html"


@contextlib.contextmanager
def _open_supported(path: str, retry: RetryPolicy | None):
    """(watched input, buffered stream over it, the framing of its records: None for a WARC fastwarc reads, else
    the function that frames them), unless the file is missing or forbidden: then an error of this file alone
    (UnsupportedInput), never of the run."""
    try:
        watched = WatchedInput(open_input(path, retry))
        stream = io.BufferedReader(watched, buffer_size=1 << 20)
        head = _first_bytes(stream)
    except (FileNotFoundError, PermissionError, IsADirectoryError) as e:
        raise UnsupportedInput(f"{path}: cannot read: {type(e).__name__}: {e}") from None
    framing = arc_records if head.startswith(b"filedesc://") else lf_records if starts_lf_only(head) else None
    with stream:
        yield watched, stream, framing


def _first_bytes(stream) -> bytes:
    head = stream.peek(16)[:16]
    if head[:2] == GZIP_MAGIC:  # a gzipped ARC starts with a gzipped filedesc record
        try:
            head = zlib.decompressobj(wbits=31).decompress(stream.peek(4096)[:4096], 16)
        except zlib.error:
            pass
    return head


def _error_kind(e: Exception) -> str:
    text = str(e).lower()
    if "gzip" in text or "decompress" in text or "truncat" in text or "end of" in text:
        return "read.truncated"
    return "read.corrupt_record"
