"""extract: the per-document time limit really stops a runaway page; decoding survives lying charsets."""

from __future__ import annotations

import time

import pyarrow as pa

from pipeline.batch import READ_SCHEMA
from pipeline.extract import ExtractConfig, TrafilaturaExtractor, decode_html
from pipeline.timelimit import TimeLimitExceeded, time_limit

ARTICLE = (
    b"<html><body><article><p>"
    + b"Bread rises because yeast makes gas in the dough. " * 30
    + b"</p></article></body></html>"
)
# A 500 x 500 table: trafilatura needs several seconds on it (2.3 s for 300 x 300 on this machine).
RUNAWAY = b"<html><body><table>" + (b"<tr>" + b"<td>cell text</td>" * 500 + b"</tr>") * 500 + b"</table></body></html>"


def _batch(*bodies: bytes, charset: str | None = "utf-8") -> pa.Table:
    rows = [
        {
            **dict.fromkeys(READ_SCHEMA.names),
            "doc_id": i,
            "html": body,
            "charset": charset,
            "content_length": len(body),
        }
        for i, body in enumerate(bodies)
    ]
    return pa.Table.from_pylist(rows, schema=READ_SCHEMA)


def test_pages_over_the_guards_are_dropped_before_extraction_whatever_the_machine():
    """Decided from the page (bytes, then elements), not from a clock: the same on any CPU and under any load."""
    complex_page = b"<html><body>" + b"<p>word</p>" * 25_000 + b"</body></html>"  # 25,002 start tags, 300 KB
    stage = TrafilaturaExtractor(ExtractConfig())
    started = time.process_time()
    out = stage(_batch(RUNAWAY, complex_page, ARTICLE))
    assert out.column("drop_reason").to_pylist() == ["extract.too_large", "extract.too_complex", None]
    assert time.process_time() - started < 5.0  # neither was handed to trafilatura
    just_under = TrafilaturaExtractor(ExtractConfig(max_tags=25_002))
    assert just_under(_batch(complex_page)).column("drop_reason").to_pylist() == [None]


def test_runaway_page_is_stopped_at_its_time_limit_and_the_batch_goes_on():
    """The safety net: with the guards opened wide, a page that runs away is stopped by CPU time."""
    stage = TrafilaturaExtractor(ExtractConfig(timeout_s=0.5, max_html_bytes=10**9, max_tags=10**9))
    started = time.process_time()  # the limit is CPU time, so a loaded machine does not change the outcome
    out = stage(_batch(RUNAWAY, ARTICLE))
    elapsed = time.process_time() - started
    assert out.column("drop_reason").to_pylist() == ["extract.timeout", None]
    assert "yeast" in out.column("text").to_pylist()[1]
    assert elapsed < 2.0, f"the runaway page was not stopped: {elapsed:.1f} CPU s"


def test_time_limit_interrupts_pure_python_loops():
    started = time.process_time()
    try:
        with time_limit(0.1):
            while True:
                pass
    except TimeLimitExceeded:
        pass
    assert time.process_time() - started < 0.5


def test_time_limit_cannot_be_swallowed_by_except_exception():
    """trafilatura catches Exception in its fallbacks: a limit raised there must still end the page."""
    started = time.process_time()
    stopped = False
    try:
        with time_limit(0.05):
            while time.process_time() - started < 3.0:
                try:
                    sum(range(10_000))
                except Exception:  # what a library's fallback does with an error it did not expect
                    pass
    except TimeLimitExceeded:
        stopped = True
    assert stopped and time.process_time() - started < 1.0


def test_time_limit_comes_back_after_a_handler_swallows_it_once():
    started = time.process_time()
    swallowed = 0
    try:
        with time_limit(0.05):
            while time.process_time() - started < 3.0:
                try:
                    sum(range(10_000))
                except TimeLimitExceeded:
                    swallowed += 1
                    if swallowed > 1:
                        raise
    except TimeLimitExceeded:
        pass
    assert swallowed == 2 and time.process_time() - started < 1.0


def test_decode_prefers_a_declaration_that_decodes_and_falls_back_when_it_lies():
    text = "Café “naïve” — résumé"
    assert decode_html(text.encode("utf-8"), "utf-8") == text
    assert decode_html(text.encode("cp1252"), "utf-8") == text  # the server lies: strict UTF-8 fails
    assert decode_html(text.encode("cp1252"), "iso-8859-1") == text  # WHATWG: latin-1 label means cp1252
    meta = b'<meta charset="windows-1251">' + "Привет".encode("cp1251")
    assert "Привет" in decode_html(meta, None)
    assert decode_html("日本語のページです".encode("utf-8"), None) == "日本語のページです"
