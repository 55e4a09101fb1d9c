"""The reader under broken inputs (issue 12): an input that fails for good fails the file instead of being
skipped like a corrupt record; a record whose Content-Length is wrong costs only itself; a gzip bomb is
dropped before it is decompressed whole; legacy ARC records are read as WARC responses."""

from __future__ import annotations

import gzip
import io
import sys
import zlib

import pytest

from core.retry import ResumableInput, RetriesExhausted, RetryPolicy
from readers import warc as read
from readers.warc import ReadConfig, WarcReader
from tests.conftest import FIXTURES

sys.path.insert(0, str(FIXTURES))
from make_fixtures import WarcWriter, http_response, utf8_page  # noqa: E402

PAGES = 40


def _page(i: int) -> bytes:
    paragraphs = "".join(f"<p>Paragraph {k} of page {i}, with enough words to be a sentence.</p>" for k in range(30))
    return utf8_page(f"<html><body><article>{paragraphs}</article></body></html>")


def _warc(compress: bool = True) -> bytes:
    w = WarcWriter("pages.warc.gz", file_no=1, compress=compress)
    w.warcinfo("read fault tests")
    for i in range(PAGES):
        w.page(f"https://site.example/{i}", _page(i), "text/html")
    return b"".join(w.members)


def _rows(data: bytes, monkeypatch, path: str = "mem.warc.gz") -> list[dict]:
    monkeypatch.setattr(read, "open_input", lambda p, retry=None: io.BufferedReader(io.BytesIO(data)))
    return list(WarcReader(ReadConfig())(path, 3))


def _summary(rows: list[dict]) -> list[tuple]:
    return [(r["doc_id"], r["url"], r["error"]) for r in rows]


# ---------------------------------------------------------------- an input that fails for good


class _DiesAt:
    """`open_at` for ResumableInput: serves `data` up to byte `cut`, then every (re)connection fails."""

    def __init__(self, data: bytes, cut: int):
        self.data, self.cut = data, cut

    def __call__(self, offset: int):
        if offset >= self.cut:
            raise ConnectionResetError(f"connection refused at byte {offset}")
        return io.BytesIO(self.data[offset : self.cut]), len(self.data)


@pytest.mark.parametrize("fraction", [0.13, 0.61, 0.83])
def test_a_read_that_fails_for_good_mid_file_fails_the_file(monkeypatch, fraction):
    data = _warc()
    policy = RetryPolicy(attempts=2, first_delay_s=0)
    stream = ResumableInput("https://crawl.example/pages.warc.gz", _DiesAt(data, int(len(data) * fraction)), policy)
    monkeypatch.setattr(read, "open_input", lambda p, retry=None: io.BufferedReader(stream))
    rows = []
    with pytest.raises(RetriesExhausted):
        for row in WarcReader(ReadConfig())("https://crawl.example/pages.warc.gz", 0):
            rows.append(row)
    assert all(r["error"] is None for r in rows)  # nothing was counted as a corrupt record
    assert len(rows) < PAGES


def test_a_failed_file_is_not_committed_and_a_rerun_reads_it_whole(monkeypatch, tmp_path):
    from pipeline.config import load
    from pipeline.filepass import process_file
    from tests.conftest import ROOT

    data = _warc()
    config = load(ROOT / "stages.yaml").with_overrides(output=str(tmp_path / "out"), io_attempts=2)
    policy_stream = ResumableInput("remote", _DiesAt(data, len(data) // 2), RetryPolicy(attempts=2, first_delay_s=0))
    monkeypatch.setattr(read, "open_input", lambda p, retry=None: io.BufferedReader(policy_stream))
    with pytest.raises(OSError):
        process_file(0, "https://crawl.example/pages.warc.gz", config)
    assert not (tmp_path / "out" / "stats" / "part-000000.json").exists()
    monkeypatch.setattr(read, "open_input", lambda p, retry=None: io.BufferedReader(io.BytesIO(data)))
    stats = process_file(0, "https://crawl.example/pages.warc.gz", config)
    assert stats["status"] == "ok" and stats["records_read"] == PAGES and stats["errors"] == {}


# ---------------------------------------------------------------- wrong Content-Length


def _wet(lengths_off: dict[int, int], compress: bool) -> bytes:
    """A WET file of 6 conversion records; record i claims `lengths_off[i]` bytes more than it holds."""
    out = []
    for i in range(6):
        body = f"Document number {i}. ".encode() * 30
        head = (
            "WARC/1.0\r\nWARC-Type: conversion\r\n"
            f"WARC-Target-URI: https://wet.example/{i}\r\nWARC-Record-ID: <urn:uuid:{i:08d}>\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(body) + lengths_off.get(i, 0)}\r\n\r\n"
        )
        record = head.encode() + body + b"\r\n\r\n"
        out.append(gzip.compress(record, mtime=0) if compress else record)
    return b"".join(out)


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
@pytest.mark.parametrize("off", [10, 200, -10])
def test_a_wrong_content_length_costs_only_its_record(monkeypatch, compress, off):
    clean = _rows(_wet({}, compress), monkeypatch)
    broken = _rows(_wet({2: off}, compress), monkeypatch)
    assert [r["error"] for r in broken] == [None, None, "read.bad_length", None, None, None]
    assert [r["doc_id"] for r in broken] == [r["doc_id"] for r in clean]  # ordinals do not shift
    assert [r["text"] for r in broken if r["error"] is None] == [r["text"] for i, r in enumerate(clean) if i != 2]


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_a_corrupt_header_costs_only_its_record(monkeypatch, compress):
    """Record 3 lost its WARC-Type, record 4 its version line: each is one error, the rest are read."""
    clean = _wet({}, compress=False).split(b"WARC/1.0\r\n")[1:]
    damaged = [b"WARC/1.0\r\n" + r for r in clean]
    damaged[3] = damaged[3].replace(b"WARC-Type: conversion\r\n", b"WARC-Type conversion, no colon\r\n")
    damaged[4] = damaged[4].replace(b"WARC/1.0", b"WARX/1.0")
    data = b"".join(gzip.compress(r, mtime=0) if compress else r for r in damaged)
    rows = _rows(data, monkeypatch)
    assert [r["error"] for r in rows] == [None, None, None, "read.corrupt_record", "read.corrupt_record", None]
    assert [r["url"] for r in rows if r["url"]] == [f"https://wet.example/{i}" for i in (0, 1, 2, 5)]


def test_overrun_of_the_last_record_is_truncation(monkeypatch):
    rows = _rows(_wet({5: 50}, compress=True), monkeypatch)
    assert [r["error"] for r in rows] == [None] * 5 + ["read.truncated"]


# ---------------------------------------------------------------- decompression bombs


def test_a_gzip_bomb_is_dropped_as_too_large_without_decompressing_it_whole(monkeypatch):
    html = b"<html><body>" + b"<p>" + b"a" * 60_000_000 + b"</p></body></html>"
    bomb = gzip.compress(html, compresslevel=9)
    assert len(bomb) < 200_000
    head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n"
    payload = f"{head}Content-Length: {len(bomb)}\r\n\r\n".encode() + bomb
    w = WarcWriter("bomb.warc.gz", file_no=2)
    w.page("https://bomb.example/", payload, "text/html")
    w.page("https://fine.example/", _page(1), "text/html")
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = _rows(b"".join(w.members), monkeypatch)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert [r["drop_reason"] for r in rows] == ["read.too_large", None]
    assert grown_mb < 40  # the 60 MB page was never held whole (5 MB cap, plus the compressed bytes)


def test_a_deflate_body_under_the_cap_is_decoded(monkeypatch):
    html = b"<html><body><p>" + b"plain words " * 1000 + b"</p></body></html>"
    for body in (zlib.compress(html), zlib.compress(html)[2:-4]):  # zlib, and raw deflate as some servers send
        payload = http_response(body, "text/html").replace(b"\r\n\r\n", b"\r\nContent-Encoding: deflate\r\n\r\n", 1)
        w = WarcWriter("deflate.warc.gz", file_no=2)
        w.page("https://deflate.example/", payload, "text/html")
        (row,) = _rows(b"".join(w.members), monkeypatch)
        assert row["drop_reason"] is None and row["html"] == html


# ---------------------------------------------------------------- legacy ARC


def _arc(records: list[tuple[str, bytes]], compress: bool) -> bytes:
    desc = b"1 0 CommonCrawl\nURL IP-address Archive-date Content-type Archive-length\n"
    entries = [b"filedesc://test.arc 0.0.0.0 20080101000000 text/plain %d\n" % len(desc) + desc + b"\n"]
    for url, payload in records:
        entries.append(f"{url} 10.0.0.1 20080618123456 text/html {len(payload)}\n".encode() + payload + b"\n")
    return b"".join(gzip.compress(e, mtime=0) for e in entries) if compress else b"".join(entries)


@pytest.mark.parametrize("compress", [True, False], ids=["arc.gz", "arc"])
def test_arc_records_are_read_as_responses(monkeypatch, compress):
    data = _arc([("http://a.example/", _page(1)), ("http://b.example/x", _page(2))], compress)
    path = "old.arc.gz" if compress else "old.arc"
    rows = _rows(data, monkeypatch, path=path)
    assert [r["url"] for r in rows] == ["http://a.example/", "http://b.example/x"]
    assert [r["date"] for r in rows] == ["2008-06-18T12:34:56Z"] * 2
    assert all(r["drop_reason"] is None and b"Paragraph 3 of page" in r["html"] for r in rows)
    assert rows[0]["id"] != rows[1]["id"] and rows[0]["id"] == _rows(data, monkeypatch, path)[0]["id"]  # stable


def test_a_broken_arc_header_costs_one_record(monkeypatch):
    data = _arc(
        [("http://a.example/", _page(1)), ("http://b.example/", _page(2)), ("http://c.example/", _page(3))], False
    )
    data = data.replace(b"http://b.example/ 10.0.0.1 20080618123456", b"http://b.example/ 10.0.0.1 2008-06-18", 1)
    rows = _rows(data, monkeypatch, path="old.arc")
    assert [(r["url"], r["error"]) for r in rows] == [
        ("http://a.example/", None),
        (None, "read.corrupt_record"),
        ("http://c.example/", None),
    ]
