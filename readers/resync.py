"""Finding the next record after a broken one, and telling a broken record from a broken input.

A WARC file can hold a record that cannot be read (a truncated or corrupt gzip member, a bad header, a
`Content-Length` that runs past its block or stops short of it). The reader counts it and goes on at the next
record start, so one bad record costs only itself (datatrove and cc_net stop at the first one). Where records
start: in a .warc.gz, at a gzip member whose first bytes decompress to `WARC/` (CommonCrawl writes one record
per member); in a plain WARC, at a `WARC/1.x` version line followed by a header with a Content-Length (a record
cut short leaves no line end before the next one).

An input that fails for good (a remote read whose retries are exhausted) must not be taken for a corrupt
record: skipping to the next member would lose the documents after the gap and shift every record ordinal
after it, and the file would be committed as if it were whole. fastwarc raises both as OSError, so the input
is read through `WatchedInput`, which remembers any failure of the input itself.
"""

from __future__ import annotations

import io
import os
import zlib
from typing import Iterator

GZIP_MAGIC = b"\x1f\x8b"
_MEMBER_START = b"\x1f\x8b\x08"  # gzip magic + deflate
_PLAIN_START = b"WARC/1."  # where a record's version line may start (checked by _plain_header_at)
_SCAN_CHUNK = 1 << 20
MAX_HEADER_BYTES = 32 << 10  # fastwarc's default max_header_len
# Where resync looks for a header's Content-Length: real WARC headers are well under 4 KB, and a file of
# repeated version lines must not cost 32 KB of reading each
_HEADER_CHECK_BYTES = 4096


class WatchedInput(io.RawIOBase):
    """A seekable binary input that remembers the first exception its own reads or seeks raised."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.failure: BaseException | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.stream.seekable()

    def tell(self) -> int:
        return self.stream.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._watch(self.stream.seek, offset, whence)

    def readinto(self, buffer) -> int:
        return self._watch(self.stream.readinto, buffer)

    def _watch(self, fn, *args):
        try:
            return fn(*args)
        except BaseException as e:
            self.failure = self.failure or e
            raise

    def size(self) -> int | None:
        """The file's size in bytes, when the stream knows it without a request (a local file, a remote read
        that has connected)."""
        try:
            return os.fstat(self.stream.fileno()).st_size
        except (OSError, AttributeError, io.UnsupportedOperation):
            return getattr(getattr(self.stream, "raw", None), "size", None)

    def raise_if_failed(self) -> None:
        """Re-raise the input's own failure, if it had one: the file must fail, not skip a record."""
        if self.failure is not None:
            raise self.failure

    def close(self) -> None:
        self.stream.close()
        super().close()


MAX_RECORD_BYTES = 1 << 40  # a Content-Length past this is a lie (and would overflow a seek)


def record_end(stream, position: int, content_length: int, gzipped: bool) -> int | None:
    """Where the record at `position` ends if its Content-Length is right (its block is followed by the blank
    line that ends a record and, in a .warc.gz, by the end of its gzip member), else None."""
    if content_length > MAX_RECORD_BYTES:
        return None
    stream.seek(position)
    if gzipped:
        return _member_end(stream, position, content_length)
    head = stream.read(MAX_HEADER_BYTES)
    header_end = head.find(b"\r\n\r\n")
    if header_end < 0:
        return None
    end = position + header_end + 4 + content_length + 4
    stream.seek(end - 4)
    return end if stream.read(4) == b"\r\n\r\n" else None


def _member_end(stream, position: int, content_length: int) -> int | None:
    """Decompress the member at `position` (keeping only its head, so a large record costs no memory) and
    check that it holds exactly a header, `content_length` bytes and the closing blank line."""
    decoder, head, size, consumed = zlib.decompressobj(wbits=31), bytearray(), 0, 0
    limit = content_length + MAX_HEADER_BYTES + 4
    while not decoder.eof and size <= limit and (chunk := stream.read(1 << 16)):
        try:
            out = decoder.decompress(chunk, 1 << 20)
            while decoder.unconsumed_tail and size + len(out) <= limit:  # a highly compressed member
                size, head = size + len(out), (head + out)[: MAX_HEADER_BYTES + 4]
                out = decoder.decompress(decoder.unconsumed_tail, 1 << 20)
        except zlib.error:
            return None
        size, head = size + len(out), (head + out)[: MAX_HEADER_BYTES + 4]
        consumed += len(chunk) - len(decoder.unused_data) - len(decoder.unconsumed_tail)
    header_end = head.find(b"\r\n\r\n")
    fits = decoder.eof and header_end >= 0 and size == header_end + 4 + content_length + 4
    return position + consumed if fits else None


def first_record_start(stream) -> tuple[int | None, bool]:
    """(where the first record starts, whether the file is gzipped), looking past junk in the first MB: a stray
    byte before the first gzip member, or a gzip magic before a plain WARC. (None, _) if no record is there."""
    head = stream.peek(_SCAN_CHUNK)[:_SCAN_CHUNK]  # what the buffer holds: no second request for a remote file
    if head.startswith(b"WARC/"):
        return 0, False
    if head.startswith(GZIP_MAGIC) and _member_holds_warc(stream, 0):
        return 0, True
    member = next((at for at in _finds(head, _MEMBER_START) if _member_holds_warc(stream, at)), None)
    plain = next((at for at in _finds(head, _PLAIN_START) if _plain_header_at(stream, at)), None)
    found = [(at, gzipped) for at, gzipped in ((member, True), (plain, False)) if at is not None]
    return min(found) if found else (None, head.startswith(GZIP_MAGIC))


def _finds(data: bytes, marker: bytes) -> Iterator[int]:
    at = data.find(marker)
    while at >= 0:
        yield at
        at = data.find(marker, at + 1)


def next_record_start(stream, position: int, gzipped: bool) -> int | None:
    """The first offset after `position` where a record starts (see the module docstring), or None."""
    marker = _MEMBER_START if gzipped else _PLAIN_START
    for hit in occurrences(stream, marker, position + 1):
        if not gzipped and _plain_header_at(stream, hit):
            return hit
        if gzipped and _member_holds_warc(stream, hit):
            return hit
    return None


def _plain_header_at(stream, at: int) -> bool:
    """Does a WARC header start at `at` (a version line, then a Content-Length before the blank line)? A record
    cut short leaves no line end before the next one, so any `WARC/1.` is a candidate."""
    stream.seek(at)
    if stream.read(10) not in (b"WARC/1.0\r\n", b"WARC/1.1\r\n"):  # most candidates end here, 10 bytes read
        return False
    head = stream.read(_HEADER_CHECK_BYTES)
    end = head.find(b"\r\n\r\n")
    return end >= 0 and b"content-length:" in head[:end].lower()


def occurrences(stream, marker: bytes, start: int) -> Iterator[int]:
    """Offsets of `marker` at or after `start`, reading forward in chunks (a hit may span two chunks)."""
    offset, tail = start, b""
    stream.seek(start)
    while chunk := stream.read(_SCAN_CHUNK):
        data = tail + chunk
        found, at = [], 0
        while (hit := data.find(marker, at)) >= 0:
            found.append(offset - len(tail) + hit)
            at = hit + 1
        offset += len(chunk)
        tail = data[-(len(marker) - 1) :]
        for hit in found:
            yield hit
            stream.seek(offset)  # the caller may have read elsewhere in between


def _member_holds_warc(stream, at: int) -> bool:
    """Does a gzip member start at `at` with a WARC record? Random compressed bytes hold the 3-byte magic about
    once in 16 MB; decompressing the first bytes tells a real member from such a coincidence."""
    stream.seek(at)
    try:
        head = zlib.decompressobj(wbits=31).decompress(stream.read(4096), 16)
    except zlib.error:
        return False
    return head.startswith(b"WARC/")


def read_block(source, length: int, max_bytes: int) -> tuple[bytes | None, int]:
    """A record's block of `length` bytes, never holding more than `max_bytes` of it: (the block, or None when it
    is longer and was skipped in 1 MB steps; the bytes consumed). `read(n)` allocates n bytes at once, so a
    header claiming 2 GB must not be read as it says."""
    if length <= max_bytes:
        block = source.read(length)
        return block, len(block)
    consumed = 0
    while consumed < length and (chunk := source.read(min(_SCAN_CHUNK, length - consumed))):
        consumed += len(chunk)
    return None, consumed
