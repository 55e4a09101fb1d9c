"""HTML bytes to text for whatever parses pages (the extractors, the language pre-pass): the decode every stage
agrees on, the start-tag count that bounds a page's parse cost before any parser sees it, and the nesting depth
resiliparse must not be given."""

from __future__ import annotations

import re

_START_TAG = re.compile(r"<[A-Za-z]")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)


def nested_selector(depth: int) -> str:
    """A CSS selector that matches an element with `depth - 1` ancestors: a page it matches is too deep for
    resiliparse, whose main-content pass is quadratic in nesting depth inside one C call."""
    return " > ".join(["*"] * depth)


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
