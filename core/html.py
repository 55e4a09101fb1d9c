"""HTML bytes to text for whatever parses pages (the extractors, the language pre-pass): the decode every stage
agrees on, the start-tag count that bounds a page's parse cost before any parser sees it, and the nesting depth
resiliparse must not be given."""

from __future__ import annotations

import bisect
import codecs
import re
from dataclasses import dataclass

# Start tags, and the two end tags an HTML5 parser turns into an element when nothing is open to close (a stray
# </p> inserts an empty <p>, </br> is read as <br>): 200 `</br>` build 200 elements from no start tag.
_START_TAG = re.compile(r"<[A-Za-z]|</(?:[pP]|[bB][rR])\s*>")
# [^<>] and a bounded length: a `<meta` with no `>` must not make every later byte a retry (quadratic)
_META_CHARSET = re.compile(rb"""<meta[^<>]{1,512}?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]{1,40})""", re.I)


def nested_selector(depth: int) -> str:
    """A CSS selector that matches an element with `depth - 1` ancestors: a page it matches is too deep for
    resiliparse, whose main-content pass is quadratic in nesting depth inside one C call."""
    return " > ".join(["*"] * depth)


def count_tags(html: str) -> int:
    """Start tags (`<` and a letter), and `</p>` and `</br>`: on every real page measured, at least the element
    count lxml builds."""
    return sum(1 for _ in _START_TAG.finditer(html))


def decode_html(body: bytes, declared: str | None) -> str:
    """Bytes to text: by a Unicode byte-order mark if there is one (it wins over any label, as in browsers:
    WHATWG Encoding "decode"), else UTF-8 if the bytes are valid UTF-8, else the server's charset if it decodes
    cleanly, then <meta charset>, then detection.

    Servers often lie both ways (a cp1252 page served as UTF-8, a UTF-8 page served as Shift_JIS). Non-ASCII
    text that is valid UTF-8 is almost never anything else, while a legacy single- or double-byte decode of
    UTF-8 bytes often "succeeds" with mojibake; so valid UTF-8 wins, as in datatrove's reader. A label is
    untrusted input: one Python knows but that fails on use (`undefined`), names no text codec (`base64`) or
    holds a NUL is skipped like an unknown one; this never raises.
    """
    bom = _bom_codec(body)
    # UTF-16 without a BOM is also valid UTF-8 (NULs and all): a UTF-16/32 label goes first if the bytes hold NULs
    wide = declared if _names_wide(declared) and b"\x00" in body[:4096] else None
    for candidate in (bom, wide, "utf-8", declared, _meta_charset(body)):
        if candidate not in (bom, wide) and _names_wide(candidate):
            continue  # a UTF-16/32 label on bytes without NULs lies (browsers ignore it in <meta> too)
        text = _decode_as(body, candidate)
        if text is not None:
            return text
    return _detect_and_decode(body)


# Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"))
_BOMS += ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_WIDE = ("utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2", "ucs-4")
MAX_LABEL_CHARS = 40  # the longest WHATWG encoding label is 19 characters


def _bom_codec(body: bytes) -> str | None:
    return next((codec for bom, codec in _BOMS if body.startswith(bom)), None)


def is_wide_unicode(body: bytes, declared: str | None) -> bool:
    """Is the page UTF-16 or UTF-32: by its byte-order mark, or by its label if its bytes hold NULs (a label alone
    lies: pages in ASCII say utf-16, and browsers then ignore it)? Such a page is not binary for its NULs."""
    bom = _bom_codec(body)
    if bom is not None:
        return bom != "utf-8-sig"
    return _names_wide(declared) and b"\x00" in body[:4096]


def _names_wide(label: str | None) -> bool:
    return bool(label) and label.strip().lower().startswith(_WIDE)


# Python codecs that are no web charset: they turn bytes into escapes, surrogates or nothing a parser can take.
_NOT_CHARSETS = {"unicode_escape", "raw_unicode_escape", "punycode", "idna", "undefined", "utf_7", "mbcs", "oem"}


def _decode_as(body: bytes, label: str | None) -> str | None:
    """The body decoded with `label`, or None when the label is no usable text codec or the bytes do not fit."""
    if not label or len(label) > MAX_LABEL_CHARS:
        return None
    try:
        codec = codecs.lookup(_python_codec(label))
        if codec.name.replace("-", "_") in _NOT_CHARSETS or not getattr(codec, "_is_text_encoding", True):
            return None
        return body.decode(codec.name)
    except (UnicodeError, LookupError, ValueError, TypeError):  # TypeError/ValueError: a NUL, a non-text codec
        return None


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
    try:
        return body.decode(encoding, errors="replace")
    except (LookupError, ValueError):  # the detector named a codec this Python lacks
        return body.decode("utf-8", errors="replace")


# ---- guards on what a page costs to parse, decided from its text before any parser sees it ----

# The HTML5 "formatting" elements (WHATWG HTML 13.2.4.3): an unclosed one stays in the list of active
# formatting elements after its parent closes, and the parser re-creates all of them ("reconstruct the active
# formatting elements") at every later element: 3,000 unclosed <b class=N> then 3,000 <p> build 9 M elements
# (3.7 GB in lexbor). At most 3 entries of the same tag and attributes count (the "Noah's Ark" clause).
_FORMATTING = "a|b|big|code|em|font|i|nobr|s|small|strike|strong|tt|u"
_FORMATTING_TAG = re.compile(rf"<(/?)({_FORMATTING})(?![A-Za-z0-9])([^<>]{{0,512}})", re.I)
_ANY_TAG = re.compile(r"</?[A-Za-z]")
NOAHS_ARK = 3
_ONE_AT_A_TIME = ("a", "nobr")  # their start tag closes an active element of the same name first
_NESTABLE_START = re.compile(r"<(?:b|big|code|em|font|i|s|small|strike|strong|tt|u)[\s>/]", re.I)
# A start tag this long is where the attributes may be many (an inline SVG path or a data: URI is long too,
# but has few attributes); only such tags are counted.
_LONG_TAG = re.compile(r"<[A-Za-z][^<>]{4096,}")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_ATTRIBUTE_NAME = re.compile(r"[\s/]+[^\s/=]")


def max_attributes(html: str, limit: int) -> int:
    """The most attributes of any one start tag, as far as it matters: 0 when no tag is long enough to hold
    more than `limit`. lexbor and libxml2 are both quadratic in the attributes of one element (150,000 of them:
    ~100 CPU-s). Text inside <script> and <style> is not markup (minified JavaScript is full of `<x` and `=`):
    a tag over `limit` is looked up there, which happens on almost no real page."""
    counts = [(len(_ATTRIBUTE_NAME.findall(_QUOTED.sub("", m.group()))), m.start()) for m in _LONG_TAG.finditer(html)]
    over = [(n, start) for n, start in counts if n > limit]
    if not over:
        return max((n for n, _ in counts), default=0)
    scripts = _script_spans(html)
    starts = [start for start, _ in scripts]
    markup = [n for n, start in over if (at := bisect.bisect_right(starts, start) - 1) < 0 or scripts[at][1] <= start]
    return max(markup, default=limit)


def _script_spans(html: str) -> list[tuple[int, int]]:
    """(start, end) of each <script>/<style> element's content, found with str.find: linear, where a regex
    with a lazy `.*?</script>` would rescan to the end of the page after every unclosed one."""
    lower, spans, position = html.lower(), [], 0
    while True:
        found = [(at, name) for name in ("script", "style") if (at := lower.find(f"<{name}", position)) >= 0]
        if not found:
            return spans
        start, name = min(found)
        end = lower.find(f"</{name}", start)
        end = len(html) if end < 0 else end
        spans.append((start, end))
        position = end + 1


def formatting_reconstructions(html: str, tags: int, limit: int) -> int:
    """An upper estimate of the elements an HTML5 parser re-creates for unclosed formatting elements: at every
    tag, the active formatting elements (see _FORMATTING) then open. Exact work only on pages whose deepest
    pile of unclosed formatting elements times their tag count passes `limit`: a plain page costs one scan of
    its formatting tags."""
    bound = (_nestable_starts(html) + len(_ONE_AT_A_TIME)) * tags  # no scan of attributes: one regex count
    if bound <= limit:
        return bound
    deepest = _formatting_piles(html, None)
    if deepest * tags <= limit:
        return deepest * tags
    return _formatting_piles(html, limit)


def _nestable_starts(html: str) -> int:
    """Start tags of the formatting elements that can pile up (an <a> closes the open one), counted in C."""
    return sum(1 for _ in _NESTABLE_START.finditer(html))


def _formatting_piles(html: str, limit: int | None) -> int:
    """limit None: the largest number of active formatting elements at any point. Else: the sum over all tags
    of the number active there, stopping once it passes `limit`."""
    counts: dict[tuple[str, str], int] = {}
    order: dict[str, list[tuple[str, str]]] = {}
    active = deepest = total = 0
    matches = _FORMATTING_TAG.finditer(html)
    position = 0
    for m in matches:
        if limit is not None:
            total += active * (1 + sum(1 for _ in _ANY_TAG.finditer(html, position, m.start())))
            if total > limit:
                return total
            position = m.end()
        name = m.group(2).lower()
        if m.group(1):  # an end tag closes the latest entry of its name
            if order.get(name):
                key = order[name].pop()
                counts[key] -= 1
                active -= counts[key] < NOAHS_ARK
            continue
        if name in _ONE_AT_A_TIME and order.get(name):  # a new <a> first closes the open one (adoption agency)
            key = order[name].pop()
            counts[key] -= 1
            active -= counts[key] < NOAHS_ARK
        key = (name, " ".join(m.group(3).split()).lower())
        counts[key] = counts.get(key, 0) + 1
        order.setdefault(name, []).append(key)
        active += counts[key] <= NOAHS_ARK
        deepest = max(deepest, active)
    if limit is None:
        return deepest
    return total + active * sum(1 for _ in _ANY_TAG.finditer(html, position))


@dataclass(frozen=True)
class ParseGuards:
    """What a page may cost a parser, checked from its text before any parse (each a config field of the stages
    that parse HTML). The defaults are far above every real page measured (bench/perf/hostile.py)."""

    max_tags: int = 20_000
    max_attributes: int = 2_000  # the most of 1,576 real pages: 307 (html_eval); 150,000 take ~100 CPU-s
    max_reconstructed: int = 500_000  # the most of 1,576 real pages: 161,318 (upper estimate); 9 M: 3.7 GB

    def problem(self, html: str) -> str | None:
        """None if the page may be parsed, else which guard it fails: "tags", "attributes" or "formatting"."""
        tags = count_tags(html)
        if tags > self.max_tags:
            return "tags"
        if max_attributes(html, self.max_attributes) > self.max_attributes:
            return "attributes"
        if formatting_reconstructions(html, tags, self.max_reconstructed) > self.max_reconstructed:
            return "formatting"
        return None
