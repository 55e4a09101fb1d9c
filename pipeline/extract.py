"""`extract`: main text from HTML with trafilatura, FineWeb's settings; deterministic guards before it.

Deterministic on purpose: trafilatura's `deduplicate=True` keeps an LRU cache across documents, so a
paragraph's fate depends on what the worker saw before (DESIGN.md invariant 3); we never turn it on.

Which pages are too costly to extract is decided from the page, not from a clock, so that the same input gives
the same documents on any machine and under any load (FineWeb's 1 s wall-clock limit does not: a loaded or
slower machine drops more). trafilatura's CPU time grows with the number of HTML tags (Pearson r 0.95 over
1,604 real pages, about 0.06 CPU-s per 1,000 tags; payload bytes alone predict it poorly, r 0.34:
BENCHMARKS.md "Extraction cost"), so a page is dropped before trafilatura when its payload is over
`max_html_bytes` (`extract.too_large`: this also bounds what reaches lxml, and the pages whose few tags carry
megabytes of attributes) or it has more than `max_tags` start tags (`extract.too_complex`), counted with one
regex before any parse (0.15 ms a page, 0.5% of trafilatura's time; independent of the parser's version). A
CPU-time limit remains as a safety net far above any page that passes the guards (`extract.timeout`, counted
on its own; never hit by a real page here).
Drops: `extract.too_large`, `extract.too_complex`, `extract.no_text` (nothing left: boilerplate-only pages),
`extract.timeout`, `extract.error`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import pyarrow as pa

from pipeline.batch import set_column, with_drop_reasons
from pipeline.registry import Contract, param, register
from pipeline.timelimit import TimeLimitExceeded, time_limit

log = logging.getLogger(__name__)

_START_TAG = re.compile(r"<[A-Za-z]")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)


@dataclass(frozen=True)
class ExtractConfig:
    max_html_bytes: int = param(
        2_000_000,
        "larger payloads are dropped unparsed (extract.too_large); CommonCrawl truncates bodies at 1 MiB, so this "
        "only meets other crawls' pages (1 of 1,604 real pages here)",
        ge=1,
    )
    max_tags: int = param(
        20_000,
        "pages with more HTML start tags are dropped before trafilatura (extract.too_complex): 2 of 1,604 real "
        "pages; the slowest real page under it took 1.0 CPU-s here (bench/extract_cost.py)",
        ge=1,
    )
    timeout_s: float = param(
        10.0,
        "CPU-time safety net per document (extract.timeout): 10x the slowest page that passes the guards",
        ge=0.001,
    )
    favor_precision: bool = param(True, "trafilatura favor_precision: less text, less boilerplate (FineWeb)")
    include_comments: bool = param(False, "keep user comments (FineWeb: no)")
    include_tables: bool = param(True, "keep table text (trafilatura default)")


@register("extract", ExtractConfig, contract=Contract(needs=("html",), provides=("text",)))
class TrafilaturaExtractor:
    """Extract the main text of HTML pages with trafilatura; WET records pass through unchanged."""

    def __init__(self, cfg: ExtractConfig):
        import trafilatura  # heavy import, done once per worker task

        self.cfg = cfg
        self._extract = trafilatura.extract
        self._warned = False

    def __call__(self, batch: pa.Table) -> pa.Table:
        htmls = batch.column("html").to_pylist()
        charsets = batch.column("charset").to_pylist()
        texts = batch.column("text").to_pylist()
        reasons: list[str | None] = [None] * batch.num_rows
        for i, body in enumerate(htmls):
            if body is None:
                continue  # WET text, already plain
            texts[i], reasons[i] = self._one(body, charsets[i])
        batch = set_column(batch, "text", pa.array(texts, type=pa.large_string()))
        batch = set_column(batch, "html", pa.nulls(batch.num_rows, pa.large_binary()))  # free the HTML early
        return with_drop_reasons(batch, reasons)

    def _one(self, body: bytes, charset: str | None) -> tuple[str | None, str | None]:
        if len(body) > self.cfg.max_html_bytes:
            return None, "extract.too_large"
        html = decode_html(body, charset)
        if count_tags(html) > self.cfg.max_tags:
            return None, "extract.too_complex"
        try:
            with time_limit(self.cfg.timeout_s):
                text = self._extract(
                    html,
                    favor_precision=self.cfg.favor_precision,
                    include_comments=self.cfg.include_comments,
                    include_tables=self.cfg.include_tables,
                    deduplicate=False,
                )
        except TimeLimitExceeded:
            return None, "extract.timeout"
        except Exception as e:  # trafilatura/lxml raise many types on hostile markup; the page is dropped
            if not self._warned:
                log.warning("extract: %s: %s (warned once per worker)", type(e).__name__, e)
                self._warned = True
            return None, "extract.error"
        text = (text or "").strip()
        return (text, None) if text else (None, "extract.no_text")


def count_tags(html: str) -> int:
    """Start tags (`<` and a letter): on every real page measured, at least the element count lxml builds."""
    return sum(1 for _ in _START_TAG.finditer(html))


def decode_html(body: bytes, declared: str | None) -> str:
    """Bytes to text: UTF-8 if the bytes are valid UTF-8, else the server's charset if it decodes cleanly,
    then <meta charset>, then detection.

    Servers often lie both ways (a cp1252 page served as UTF-8, a UTF-8 page served as Shift_JIS). Non-ASCII
    text that is valid UTF-8 is almost never anything else, while a legacy single- or double-byte decode of
    UTF-8 bytes often "succeeds" with mojibake; so valid UTF-8 wins, as in datatrove's reader.
    """
    for candidate in ("utf-8", declared, _meta_charset(body)):
        if candidate:
            try:
                return body.decode(_python_codec(candidate))
            except (UnicodeDecodeError, LookupError):
                continue
    return _detect_and_decode(body)


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii", errors="ignore") if match else None


def _python_codec(name: str) -> str:
    name = name.strip().lower()
    # WHATWG: pages labelled latin-1/ascii are decoded as windows-1252 by every browser.
    return "cp1252" if name in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii") else name


# Single-byte Western code pages a detector confuses with each other on short text.
_LATIN_FAMILY = ("cp125", "windows-125", "iso8859", "iso-8859", "latin", "mac_")


def _detect_and_decode(body: bytes) -> str:
    """No usable declaration: detect. Among Latin single-byte guesses take windows-1252 (the WHATWG default
    fallback): a detector's cp1250-vs-cp1252 call on a short page is a coin toss that garbles "naïve"."""
    from charset_normalizer import from_bytes

    best = from_bytes(body[:65536]).best()
    encoding = best.encoding if best is not None else "cp1252"
    if encoding.lower().startswith(_LATIN_FAMILY):
        try:
            return body.decode("cp1252")
        except UnicodeDecodeError:
            pass
    return body.decode(encoding, errors="replace")
