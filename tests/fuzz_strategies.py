"""Hypothesis strategies for hostile pipeline inputs, and the per-example budget every fuzz property runs under.

Shared by tests/test_fuzz.py (CI: a few derandomized examples per target) and bench/perf/fuzz.py (long mode:
random seeds, many examples, the worst cost per target). The inputs are built from recipes (a WARC of N records
with one mutation, an HTTP response with its codings and chunk sizes, an HTML page made of repeated pieces)
rather than drawn as random bytes, so that Hypothesis reaches the parsers' inner states and its falsifying
examples read as recipes (`'<b class=c{i}>' x 600 distinct`) instead of a megabyte of bytes.

Every example runs in a forked child (`run_bounded`): a CPU-time alarm (ITIMER_VIRTUAL, so it never disturbs
core/timelimit.py's ITIMER_PROF inside the extractor) interrupts Python loops, RLIMIT_CPU kills a C call that
never returns (a regex or a parser loop that no signal handler reaches), RLIMIT_AS stops a runaway allocation
before it takes the machine, and the child's peak RSS (reset after the fork) is its memory cost. An example
that breaks a budget, raises, or breaks a property fails with its own exception type per kind, so that
Hypothesis shrinks each bug to its own minimal example.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gzip
import os
import pickle
import resource
import select
import signal
import struct
import sys
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "fixtures"))
from make_fixtures import WarcWriter, utf8_page  # noqa: E402

# ---------------------------------------------------------------------------------------------------------------
# The per-example budget
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """What one example may cost: CPU seconds (user + system) and peak RSS growth in MB. Generous on purpose
    (a page that passes the extractor's guards takes ~0.05 CPU-s), so a pass never depends on machine load."""

    cpu_s: float = float(os.environ.get("FUZZ_CPU_S", "2"))
    rss_mb: float = float(os.environ.get("FUZZ_RSS_MB", "200"))


DEFAULT_BUDGET = Budget()
_AS_HEADROOM = 2 << 30  # address space the child may add before MemoryError: far above the RSS budget


@dataclass(frozen=True)
class Cost:
    cpu_s: float
    rss_mb: float


@dataclass
class TargetStats:
    """Per target: examples run, the worst cost of one example, and each kind of failure with the last (after
    shrinking: the minimal) example that showed it."""

    examples: int = 0
    worst_cpu_s: float = 0.0
    worst_rss_mb: float = 0.0
    failures: dict[str, dict] = field(default_factory=dict)


STATS: dict[str, TargetStats] = {}
_VERDICTS: dict[tuple[str, str], tuple[str, str, Cost]] = {}  # failed examples: (target, repr) -> verdict


class FuzzFailure(AssertionError):
    """An example failed; the subclass names the kind (see `failure_type`)."""


class PropertyViolation(AssertionError):
    """A property (`require`) does not hold; `label` names which one."""

    def __init__(self, label: str, detail: str):
        super().__init__(f"{label}: {detail}")
        self.label = label


class CpuBudgetExceeded(BaseException):
    """Raised in the child by the CPU alarm; a BaseException so that library `except Exception` cannot eat it."""


def require(ok: bool, label: str, detail: Any = "") -> None:
    """Fail the property `label` unless `ok`; `detail` may be a callable, evaluated only on failure."""
    if not ok:
        raise PropertyViolation(label, str(detail() if callable(detail) else detail)[:4000])


_FAILURE_TYPES: dict[str, type[FuzzFailure]] = {}


def failure_type(kind: str) -> type[FuzzFailure]:
    """One exception class per failure kind: Hypothesis tells bugs apart by exception type and shrinks each."""
    name = "Fuzz_" + "".join(c if c.isalnum() else "_" for c in kind)[:80]
    if name not in _FAILURE_TYPES:
        _FAILURE_TYPES[name] = type(name, (FuzzFailure,), {})
    return _FAILURE_TYPES[name]


@dataclass(frozen=True)
class Target:
    """One fuzzed property: a strategy of examples, the check that runs on each (in the child), the number of
    examples CI runs, and `prepare` (built once in the parent, so every child inherits it: models, bombs)."""

    name: str
    strategy: st.SearchStrategy
    check: Callable[[Any], None]
    ci_examples: int
    prepare: Callable[[], None] = lambda: None
    budget: Budget = DEFAULT_BUDGET

    def run(self, example) -> Cost:
        """Run the check on one example under the budget; record its cost; raise a FuzzFailure if it fails."""
        self.prepare()
        stats = STATS.setdefault(self.name, TargetStats())
        key = (self.name, repr(example))
        kind, message, cost = _VERDICTS.get(key) or run_bounded(self.check, example, self.budget)
        if kind != "ok":  # Hypothesis replays a failure to confirm it: a cost near the budget must fail again
            _VERDICTS[key] = kind, message, cost
        stats.examples += 1
        stats.worst_cpu_s = max(stats.worst_cpu_s, cost.cpu_s)
        stats.worst_rss_mb = max(stats.worst_rss_mb, cost.rss_mb)
        if kind == "ok":
            return cost
        stats.failures[kind] = {"example": _short_repr(example), "message": message, "artifact": _artifact(example)}
        raise failure_type(kind)(f"{kind} ({cost.cpu_s:.2f} CPU-s, {cost.rss_mb:.0f} MB)\n{message}")


def _short_repr(example, limit: int = 3000) -> str:
    text = repr(example)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _artifact(example) -> bytes | None:
    """The raw input of an example (a WARC file, a page), for the long mode to save beside its report."""
    make = getattr(example, "artifact", None)
    try:
        return make() if callable(make) else None
    except Exception:  # an example whose bytes cannot even be built: its repr is the record
        return None


def run_bounded(check: Callable[[Any], None], example, budget: Budget = DEFAULT_BUDGET) -> tuple[str, str, Cost]:
    """(kind, message, cost) of `check(example)` run in a forked child under `budget`; kind "ok" if it passed.

    A child, not this process: a C loop (a regex, lexbor) can only be stopped by killing its process, a runaway
    allocation must not take the test runner with it, and each example's peak memory is measured alone."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns from here
        os.close(read_fd)
        _child(write_fd, check, example, budget)
    os.close(write_fd)
    data, timed_out = _read_report(read_fd, pid, max(60.0, 30 * budget.cpu_s))
    _, status, usage = os.wait4(pid, 0)
    cpu_s = usage.ru_utime + usage.ru_stime
    report = pickle.loads(data) if data else _death_report(status, timed_out)
    cost = Cost(cpu_s, report.get("rss_mb", usage.ru_maxrss / 1024))
    kind, message = report["kind"], report["message"]
    if kind == "ok" and cpu_s > budget.cpu_s:
        kind, message = "cpu", f"{cpu_s:.2f} CPU-s > {budget.cpu_s} (spent in C code the alarm could not stop)"
    if kind == "ok" and cost.rss_mb > budget.rss_mb:
        kind, message = "memory", f"peak RSS grew {cost.rss_mb:.0f} MB > {budget.rss_mb:.0f} MB"
    return kind, message, cost


def _read_report(fd: int, pid: int, wall_s: float) -> tuple[bytes, bool]:
    """The child's pickled report (empty if it died first); kills a child that outlives `wall_s` (a deadlock)."""
    chunks, deadline = [], time.monotonic() + wall_s
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                return b"", True
            chunk = pipe.read(1 << 16)
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)


def _death_report(status: int, timed_out: bool) -> dict:
    if timed_out:
        return {"kind": "hang", "message": "no CPU limit fired and the child outlived its wall-clock limit"}
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        return {"kind": "cpu", "message": "killed by RLIMIT_CPU: a C call ran far past the budget (no signal reached)"}
    if os.WIFSIGNALED(status):
        return {"kind": f"crash:{signal.Signals(os.WTERMSIG(status)).name}", "message": "the child died (C code)"}
    return {"kind": "crash:exit", "message": f"the child exited with status {status} before reporting"}


def _child(fd: int, check: Callable[[Any], None], example, budget: Budget) -> None:
    report: dict[str, Any] = {"kind": "ok", "message": ""}
    try:
        _limit_child(budget)
        base_kb = _reset_peak_rss_kb()
        try:
            with _cpu_alarm(budget.cpu_s):
                check(example)
        finally:
            report["rss_mb"] = max(0, _status_kb("VmHWM") - base_kb) / 1024
    except CpuBudgetExceeded:
        report.update(kind="cpu", message=f"over {budget.cpu_s} CPU-s, interrupted in:\n{_trace(-6)}")
    except MemoryError:
        report.update(kind="memory", message=f"MemoryError (address-space limit) in:\n{_trace(-6)}")
    except PropertyViolation as e:
        report.update(kind=f"property:{e.label}", message=str(e))
    except BaseException as e:
        report.update(kind=f"raised:{type(e).__name__}@{_origin(e)}", message=_trace(-8))
    finally:
        try:
            with os.fdopen(fd, "wb") as pipe:
                pipe.write(pickle.dumps(report))
        finally:
            os._exit(0)


def _limit_child(budget: Budget) -> None:
    soft = int(budget.cpu_s * 3 + 3)  # the child's CPU clock starts at zero; the alarm fires at budget.cpu_s
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 2))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    limit = _status_kb("VmSize") * 1024 + _AS_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.environ["RUST_BACKTRACE"] = "0"  # resiliparse aborts on a failed allocation: one line, not 50 frames


@contextlib.contextmanager
def _cpu_alarm(seconds: float):
    """Raise CpuBudgetExceeded after `seconds` of user CPU, and every 50 ms after that until the block exits."""

    def fire(signum, frame):
        raise CpuBudgetExceeded()

    signal.signal(signal.SIGVTALRM, fire)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak_rss_kb() -> int:
    """Reset the peak RSS (VmHWM) to the current RSS, so the peak measures this example alone."""
    with contextlib.suppress(OSError):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    return _status_kb("VmRSS")


def _trace(limit: int) -> str:
    return traceback.format_exc(limit=limit)[-3000:]


def _origin(e: BaseException) -> str:
    """The innermost file of this project's code (not the tests) the exception passed: where the bug is. A file,
    not a line, so that one bug raised from three lines of a loop is shrunk once."""
    where = "?"
    for frame, _ in traceback.walk_tb(e.__traceback__):
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(REPO) and ".venv" not in path.parts and "tests" not in path.parts:
            where = str(path.relative_to(REPO))
    return where


# ---------------------------------------------------------------------------------------------------------------
# Recipes: text made of repeated pieces
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rep:
    """`unit` repeated `times`: a 100,000-character run stays one readable line in a falsifying example."""

    unit: str
    times: int = 1

    def render(self) -> str:
        return self.unit * self.times

    def __repr__(self) -> str:
        return repr(self.unit) if self.times == 1 else f"{self.unit!r}*{self.times}"


@dataclass(frozen=True)
class Distinct:
    """`template` with `{i}` replaced by 0..times-1: elements that differ (an HTML parser's formatting-element
    list keeps at most three identical ones, any number of distinct ones)."""

    template: str
    times: int

    def render(self) -> str:
        return "".join(self.template.replace("{i}", str(i)) for i in range(self.times))

    def __repr__(self) -> str:
        return f"{self.template!r} x{self.times} distinct"


@dataclass(frozen=True)
class Pieces:
    parts: tuple[Rep | Distinct, ...]

    def render(self) -> str:
        return "".join(p.render() for p in self.parts)

    def length(self) -> int:
        """Characters rendered (Distinct: at least), without rendering."""
        return sum(len(p.template if isinstance(p, Distinct) else p.unit) * p.times for p in self.parts)

    def __repr__(self) -> str:
        return " + ".join(map(repr, self.parts)) or "''"


def _pieces(groups: st.SearchStrategy, max_size: int) -> st.SearchStrategy[Pieces]:
    """Pieces from a list of groups (each group a tuple of parts that belong together, e.g. open + close)."""
    return st.lists(groups, max_size=max_size).map(lambda gs: Pieces(tuple(p for g in gs for p in g)))


def _rep(unit: st.SearchStrategy[str], max_times: int) -> st.SearchStrategy[tuple[Rep]]:
    return st.builds(lambda u, n: (Rep(u, n),), unit, st.integers(1, max_times))


# ---------------------------------------------------------------------------------------------------------------
# Plain text (the word splitter, the heuristic filters)
# ---------------------------------------------------------------------------------------------------------------

WORDS = (
    "the", "be", "to", "of", "and", "that", "have", "with", "garden", "river", "bread", "Station", "naïve",
    "café", "don't", "cannot", "gonna", "y'all", "U.S.", "e.g.", "Dr.", "3.14", "10km", "$5", "5$", "C++", ":)",
    "(-:", "<3", "http://example.com/a?b=c", "www.example.org", "user@example.com", "[1]", "[edit]",
    "[citation needed]", "lorem", "ipsum", "javascript", "{", "}", "#", "#tag", "...", "…", "•", "-", "—", "«",
    "»", "“quoted”", "'s", "°C.", "中文", "日本語の", "Ελληνικά", "русский", "العربية", "हिन्दी", "😀", "👍🏽",
    "\u200b",
)  # fmt: skip
PUNCT_RUN = tuple("!?.,:;-()[]{}'\"`…—–#*&%$€@/\\|~^_=+<>«»“”‘’¡¿·、。，！？") + ("...", ":)", "-_", "?!")
SPACES = (" ", "\n", "\n\n", "\t", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\xa0", "\u3000")
LINE_SHAPES = (
    "• an item of a list\n", "- another item\n", "and so it goes...\n", "# Heading\n", "Text [1] more [edit].\n",
    "Lorem ipsum dolor sit amet.\n", "function f() { return 1; }\n", "Please enable JavaScript to view.\n",
    "This site uses cookies. Privacy policy.\n", "\n", "ok\n", "Short.\n",
)  # fmt: skip
MAX_RUN = 100_000  # characters of one punctuation run (a 2 MB page can hold longer ones)
MAX_TEXT_CHARS = 150_000  # per document: the budget then allows ~13 CPU-us a character (~5 today)


def sentences() -> st.SearchStrategy[str]:
    word = st.sampled_from(WORDS) | st.text(min_size=1, max_size=10)
    end = st.sampled_from((".", "?", "!", "", "...", ":", '."', ".)", " ."))
    return st.builds(lambda ws, e: " ".join(ws) + e, st.lists(word, min_size=1, max_size=30), end)


def texts(max_run: int = MAX_RUN) -> st.SearchStrategy[Pieces]:
    """Documents as the filters see them: lines of words (repeated: duplicate lines and n-grams), list and
    boilerplate line shapes, long punctuation runs, exotic whitespace and random Unicode."""
    groups = st.one_of(
        _rep(sentences().map(lambda s: s + "\n"), 40),
        _rep(sentences().map(lambda s: s + " "), 40),
        _rep(st.sampled_from(LINE_SHAPES), 60),
        _rep(st.sampled_from(PUNCT_RUN) | st.text(min_size=1, max_size=3), max_run),
        _rep(st.sampled_from(SPACES), 50),
        _rep(st.sampled_from("ab") | st.sampled_from(WORDS), 5000),  # a 5,000-character word, a repeated word
        st.text(max_size=200).map(lambda t: (Rep(t),)),
    )
    return _pieces(groups, 25).filter(lambda p: p.length() <= MAX_TEXT_CHARS)


# ---------------------------------------------------------------------------------------------------------------
# Charset labels
# ---------------------------------------------------------------------------------------------------------------

WHATWG_LABELS = (
    "utf-8", "UTF-8", " utf-8 ", "utf8", "unicode-1-1-utf-8", "windows-1252", "iso-8859-1", "latin1", "us-ascii",
    "ascii", "shift_jis", "sjis", "euc-jp", "iso-2022-jp", "gb2312", "gbk", "gb18030", "big5", "euc-kr", "koi8-r",
    "windows-1251", "utf-16", "utf-16le", "utf-16be", "utf-32", "x-user-defined", "replacement", "hz-gb-2312",
    "x-mac-cyrillic", "ucs-2", "unicode", "unicodefffe", "csunicode",
)  # fmt: skip
PYTHON_ONLY_LABELS = (
    "undefined", "idna", "punycode", "unicode_escape", "raw_unicode_escape", "utf-7", "utf_8_sig", "base64", "hex",
    "zlib", "bz2", "rot13", "uu", "quopri", "mbcs", "oem", "palmos", "cp65001", "u16", "u32", "utf_16", "utf-16-le",
    "utf_32_be", "latin_1", "cp037", "charmap",
)  # fmt: skip
HOSTILE_LABELS = (
    "", " ", "\x00", "utf-8\x00", "\x00utf-8", "utf-8; x=y", '"utf-8"', "'utf-8'", "utf-8,utf-16", "x" * 300,
    "ütf-8", "utf-8\r\nX-Injected: 1", "..", "-", "_", "None", "null", "auto", "utf-8 utf-8", "\t",
)  # fmt: skip


def charset_labels() -> st.SearchStrategy[str | None]:
    """Labels a server or a <meta> may send: real ones, ones only Python knows (some fail on use, some name
    byte codecs), and broken ones (NUL bytes, quotes, header injection, 300 characters)."""
    return st.one_of(
        st.none(),
        st.sampled_from(WHATWG_LABELS + PYTHON_ONLY_LABELS + HOSTILE_LABELS),
        st.text(max_size=24),
    )


# ---------------------------------------------------------------------------------------------------------------
# HTML pages
# ---------------------------------------------------------------------------------------------------------------

FORMATTING = ("b", "i", "u", "s", "em", "strong", "font", "a", "nobr", "small", "big", "code", "tt", "strike")
ELEMENTS = FORMATTING + (
    "div", "p", "span", "table", "tbody", "tr", "td", "th", "li", "ul", "ol", "dl", "dd", "section", "article",
    "main", "nav", "header", "footer", "aside", "h1", "h2", "pre", "blockquote", "form", "select", "option",
    "textarea", "template", "svg", "math", "mi", "foreignObject", "desc", "title", "script", "style", "noscript",
    "iframe", "frameset", "frame", "head", "body", "html", "br", "img", "meta", "base", "xmp", "plaintext",
    "listing", "caption", "colgroup", "col", "button", "object", "marquee", "ruby", "rt", "image", "isindex", "x-a",
)  # fmt: skip
ATTR_NAMES = ("class", "id", "href", "style", "charset", "content", "property", "itemtype", "lang", "dir", "type")
ATTR_VALUES = (
    "", "article", "og:type", "https://schema.org/NewsArticle", "text/html; charset=utf-8", "undefined",
    "application/ld+json", '"', "'", "<", ">", "&amp;", "javascript:alert(1)", "rtl", "x" * 200,
)  # fmt: skip
SPECIALS = (
    "<!---->", "<!--", "-->", "--!>", "<![CDATA[", "]]>", "<?xml version='1.0'?>", "<!DOCTYPE html>", "<!doctype>",
    "&amp;", "&#0;", "&#x110000;", "&#99999999999;", "&#xD800;", "&", "&nbsp", "<", ">", "\x00", "</", "<a", "<\x00",
    "\ufffd", "\r", "<br/>", "<p/>", "</br>", "</p>", "<svg><p>", "<math><mi><p>", "<table><tr><td>", "<select><b>",
    "<frameset>", "<template><td>", "</template>", "<script>", "</script>", "<style>", "<textarea>", "<plaintext>",
    '<meta property="og:type" content="article">', '<script type="application/ld+json">{"@type": "NewsArticle"}',
    '<div itemtype="https://schema.org/BlogPosting">', '<meta charset="undefined">', "<head>", "<body>",
)  # fmt: skip
MAX_REPEAT = 3000  # one tag or piece repeated; the extractor's max_tags guard is 20,000 start tags


def _attributes() -> st.SearchStrategy[str]:
    name = st.sampled_from(ATTR_NAMES) | st.from_regex(r"[a-zA-Z][a-zA-Z0-9:_-]{0,8}", fullmatch=True)
    value = st.sampled_from(ATTR_VALUES) | st.text(max_size=12)
    quote = st.sampled_from(('"', "'", ""))
    attr = st.builds(lambda n, v, q: f" {n}={q}{v}{q}" if q or v else f" {n}", name, value, quote)
    return st.lists(attr, max_size=6).map("".join)


def html_pages(max_repeat: int = MAX_REPEAT) -> st.SearchStrategy[Pieces]:
    """Hostile HTML: tags repeated thousands of times, deep nesting, misnested formatting elements (the HTML5
    parser re-opens every one of them at each new paragraph), attribute floods, comments and entities, article
    markers that send the cascade to trafilatura, and English paragraphs so that extraction has something."""
    names = st.sampled_from(ELEMENTS) | st.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True)
    open_tag = st.builds(lambda n, a: f"<{n}{a}>", names, _attributes())
    formatting = st.sampled_from(FORMATTING).map(lambda t: f"<{t} class=c{{i}}>")
    count = st.integers(1, max_repeat)
    groups = st.one_of(
        _rep(open_tag | names.map(lambda n: f"</{n}>"), max_repeat),
        st.builds(lambda t, n: (Distinct(t, n),), formatting, count),
        st.builds(  # misnested: formatting elements left open in a closed <p>, re-opened in each later <p>
            lambda t, n, m: (Rep("<p>"), Distinct(t, n), Rep("</p>"), Rep("<p>x", m)), formatting, count, count
        ),
        st.builds(lambda d, s, e: (Rep("<div>", d), Rep(s), Rep("</div>", e)), count, sentences(), count),
        st.builds(lambda tag, n: (Rep(f"<{tag}"), Rep(' a="1"', n), Rep(">")), names, st.integers(1, 50_000)),
        _rep(st.sampled_from(SPECIALS), max_repeat),
        _rep(sentences().map(lambda s: f"<p>{s}</p>\n"), 200),
        _rep(st.sampled_from(PUNCT_RUN), MAX_RUN),
        st.text(max_size=100).map(lambda t: (Rep(t),)),
    )
    return _pieces(groups, 12)


# ---------------------------------------------------------------------------------------------------------------
# Encoded pages (charset decoding, the extractor, the language pre-pass)
# ---------------------------------------------------------------------------------------------------------------

CODECS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "cp1252", "shift_jis", "gb18030", "koi8-r")
CODECS += ("big5", "euc-kr", "iso-2022-jp", "latin-1")
BOMS = {
    "": b"",
    "utf-8": b"\xef\xbb\xbf",
    "utf-16-le": b"\xff\xfe",
    "utf-16-be": b"\xfe\xff",
    "utf-32-le": b"\xff\xfe\x00\x00",
    "utf-32-be": b"\x00\x00\xfe\xff",
}
# WHATWG labels that name a UTF-16 form without a BOM ("utf-16" alone is little-endian in WHATWG and Python).
UTF16_LABELS = {"utf-16-le": ("utf-16le", "utf-16"), "utf-16-be": ("utf-16be",)}
_WIDE_PREFIXES = ("utf-16", "utf16", "utf_16", "utf-32", "utf32", "utf_32", "ucs", "u16", "u32", "unicode")


@dataclass(frozen=True)
class EncodedPage:
    """A page as a server sends it: HTML encoded with `codec`, a byte-order mark (`bom`: which one, maybe not
    the codec's), a <meta charset> first, raw `junk` bytes appended, and the HTTP header's charset `declared`."""

    html: Pieces
    codec: str = "utf-8"
    bom: str = ""
    meta: str | None = None
    junk: bytes = b""
    declared: str | None = None

    def text(self) -> str:
        meta = "" if self.meta is None else f'<meta charset="{self.meta}">'
        return meta + self.html.render()

    def body(self) -> bytes:
        return BOMS[self.bom] + self.text().encode(self.codec, errors="replace") + self.junk

    artifact = body

    def expected(self) -> str | None:
        """The text a correct decode must give, where the bytes say it unambiguously: a BOM that names the
        encoding (it wins over any label, as in browsers), valid UTF-8 under a label that is not UTF-16/32, or
        UTF-16 without a BOM under its own WHATWG label. None: no single right answer."""
        text = self.text()
        if self.junk or not self.codec.startswith("utf") or text.startswith(("\ufeff", "\x00")):
            return None
        if self.bom:
            return text if self.bom == self.codec else None
        declared = (self.declared or "").strip().lower()
        if self.codec == "utf-8":
            return None if declared.startswith(_WIDE_PREFIXES) else text
        return text if declared in UTF16_LABELS.get(self.codec, ()) else None


def encoded_pages(html: st.SearchStrategy[Pieces]) -> st.SearchStrategy[EncodedPage]:
    junk = st.one_of(st.just(b""), st.binary(max_size=16), st.sampled_from((b"\xff", b"\xc3", b"\x00\x00", b"\x80")))
    return st.builds(
        EncodedPage,
        html=html,
        codec=st.sampled_from(CODECS),
        bom=st.sampled_from(tuple(BOMS)),
        meta=charset_labels().filter(lambda s: s is None or '"' not in s),
        junk=junk,
        declared=charset_labels(),
    )


def light_html() -> st.SearchStrategy[Pieces]:
    """Short pages of text and a few tags: what the decode properties need, cheap to build."""
    groups = st.one_of(
        _rep(sentences(), 20),
        _rep(st.sampled_from(SPECIALS), 5),
        st.text(max_size=60).map(lambda t: (Rep(t),)),
        _rep(st.sampled_from(("é", "中", "😀", "\u2028", "ÿ", "€", "\\ud800", "+2AA-")), 30),
    )
    return _pieces(groups, 8)


# ---------------------------------------------------------------------------------------------------------------
# HTTP responses: status, headers, content codings (bombs included), chunked transfer coding
# ---------------------------------------------------------------------------------------------------------------

MAX_PAYLOAD = 5_000_000  # ReadConfig().max_payload_bytes


def _raw_deflate(data: bytes) -> bytes:
    encoder = zlib.compressobj(9, zlib.DEFLATED, -15)
    return encoder.compress(data) + encoder.flush()


def _brotli(data: bytes) -> bytes:
    import brotli

    return brotli.compress(data, quality=5)


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda b: gzip.compress(b, mtime=0),
    "x-gzip": lambda b: gzip.compress(b, mtime=0),
    "deflate": zlib.compress,
    "deflate-raw": _raw_deflate,  # sent as `deflate`: servers send raw deflate as often as zlib
    "br": _brotli,
    "identity": lambda b: b,
}
HEADER_NAME = {"deflate-raw": "deflate"}
BOMB_SPECS = ("gzip:6M", "gzip:250M", "x-gzip:250M", "deflate:250M", "deflate-raw:250M", "br:250M")
BOMB_SPECS += ("gzip,gzip:250M", "br,gzip:250M", "gzip,br:250M", "br,br:250M")


@functools.cache
def bombs() -> dict[str, tuple[bytes, str]]:
    """name -> (body, Content-Encoding): HTML that grows past the 5 MB payload cap when decoded, most of it to
    250 MB (decoded whole it would break the memory budget) from a few hundred KB. Built once in the parent
    (~1 CPU-s: one deflate pass, wrapped as gzip, zlib and raw), so that every child inherits them."""
    out = {}
    for spec in BOMB_SPECS:
        codings, size = spec.split(":")
        names = codings.split(",")
        body = _bomb(names[0], int(size[:-1]) * 1_000_000)
        for name in names[1:]:
            body = ENCODERS[name](body)
        out[spec] = body, ", ".join(HEADER_NAME.get(n, n) for n in names)  # first applied, listed first
    return out


def _bomb(coding: str, size: int) -> bytes:
    if coding == "br":
        import brotli

        encoder = brotli.Compressor(quality=1)
        return b"".join(encoder.process(p) for p in _bomb_pieces(size)) + encoder.finish()
    raw, crc, adler, total = _deflated(size)
    if coding in ("gzip", "x-gzip"):
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + raw + struct.pack("<II", crc, total & 0xFFFFFFFF)
    if coding == "deflate":
        return b"\x78\x9c" + raw + struct.pack(">I", adler)
    return raw


def _bomb_pieces(size: int) -> list[bytes]:
    chunk = b"a" * (1 << 20)
    return [b"<html><body><p>"] + [chunk] * (size // len(chunk))


@functools.cache
def _deflated(size: int) -> tuple[bytes, int, int, int]:
    """One raw deflate pass over the bomb's HTML, with the CRC-32 and Adler-32 that gzip and zlib wrap it in."""
    encoder, out, crc, adler, total = zlib.compressobj(6, zlib.DEFLATED, -15), [], 0, 1, 0
    for piece in _bomb_pieces(size):
        out.append(encoder.compress(piece))
        crc, adler, total = zlib.crc32(piece, crc), zlib.adler32(piece, adler), total + len(piece)
    return b"".join(out) + encoder.flush(), crc, adler, total


BAD_CHUNK_SIZES = (
    "-6", "-1", "-0", "zz", "", " ", "0x10", "1_0", "+5", "FFFFFFFFFFFFFFFF", "1" * 40, "7fffffffffffffff", "5 ",
    " 5", "\x00", "٣", "1e3", "10000000",
)  # fmt: skip
VALID_LAST_CHUNKS = ("0\r\n\r\n", "0;x=y\r\n\r\n", "00000\r\n\r\n", "0\r\nTrailer: x\r\n\r\n")
LAST_CHUNKS = VALID_LAST_CHUNKS + ("", "0", "0\r\n", "\r\n", "-0\r\n\r\n", "1\r\n\r\n")


@dataclass(frozen=True)
class Chunking:
    """`Transfer-Encoding: chunked` framing: the body cut at `cuts` (lengths), each size line optionally replaced
    by a hostile field (`bad`: chunk index -> field), with an extension, and a last chunk as sent."""

    cuts: tuple[int, ...] = ()
    bad: tuple[tuple[int, str], ...] = ()
    extension: str = ""
    upper: bool = False
    newline: str = "\r\n"
    last: str = "0\r\n\r\n"

    def apply(self, body: bytes) -> bytes:
        pieces, start = [], 0
        for cut in self.cuts:
            if start < len(body) and cut:
                pieces.append(body[start : start + cut])
                start += cut
        if start < len(body):
            pieces.append(body[start:])
        bad, out = dict(self.bad), []
        for i, piece in enumerate(pieces):
            size = bad.get(i, f"{len(piece):X}" if self.upper else f"{len(piece):x}")
            out.append(f"{size}{self.extension}{self.newline}".encode("utf-8") + piece + self.newline.encode())
        return b"".join(out) + self.last.encode()

    def valid(self) -> bool:
        return not self.bad and self.newline == "\r\n" and self.last in VALID_LAST_CHUNKS


@dataclass(frozen=True)
class Corruption:
    """Damage to an encoded body: keep the first `keep` fraction, and XOR bytes at (position fraction, mask)."""

    keep: float = 1.0
    flips: tuple[tuple[float, int], ...] = ()

    def apply(self, body: bytes) -> bytes:
        out = bytearray(body[: int(len(body) * self.keep)])
        for where, mask in self.flips:
            if out:
                out[int(where * (len(out) - 1))] ^= mask
        return bytes(out)


STATUS_LINES = (
    "HTTP/1.1 200 OK", "HTTP/1.0 200", "HTTP/1.1 200", "HTTP/2 200", "HTTP/1.1 404 Not Found", "HTTP/1.1 2000 OK",
    "HTTP/1.1 -1 X", "HTTP/1.1 200 \x00", "HTTP/9 200 OK", "ICY 200 OK", "", "200 OK", "HTTP/1.1", "<html>",
    "HTTP/1.1 99999999999999999999 OK",
)  # fmt: skip
CONTENT_TYPES = ("text/html", "TEXT/HTML", "application/xhtml+xml", "text/plain", "image/png", "", "text/html;")
EXTRA_HEADERS = (
    "X-Junk: " + "y" * 10_000, "No colon here", ": empty name", "Content-Length: 5", "Content-Length: -1",
    "Transfer-Encoding: gzip", "Content-Encoding: identity", "Set-Cookie: a=b", "X-\x00: \x00", " folded: line",
)  # fmt: skip


@dataclass(frozen=True)
class HttpPayload:
    """An HTTP response. `codings` are applied to the page in order (first applied, listed first); the
    Content-Encoding header says `coding_header` if given, else what was applied. `bomb` replaces the body by a
    precomputed bomb (and its header); `corrupt` damages the encoded body; `chunks` frames it."""

    html: Pieces
    status: str = "HTTP/1.1 200 OK"
    content_type: str = "text/html"
    charset: str | None = None
    codings: tuple[str, ...] = ()
    coding_header: str | None = None
    bomb: str | None = None
    corrupt: Corruption | None = None
    chunks: Chunking | None = None
    content_length: str | None = "auto"
    extra_headers: tuple[str, ...] = ()
    newline: str = "\r\n"

    def page(self) -> bytes:
        return self.html.render().encode("utf-8")

    def payload(self) -> bytes:
        body, coding = self.page(), ", ".join(HEADER_NAME.get(c, c) for c in self.codings)
        for name in self.codings:
            body = ENCODERS[name](body)
        if self.bomb is not None:
            body, coding = bombs()[self.bomb]
        if self.corrupt is not None:
            body = self.corrupt.apply(body)
        if self.chunks is not None:
            body = self.chunks.apply(body)
        ctype = self.content_type + ("" if self.charset is None else f"; charset={self.charset}")
        head = [self.status, f"Content-Type: {ctype}"]
        if self.coding_header is not None or coding:
            head.append(f"Content-Encoding: {coding if self.coding_header is None else self.coding_header}")
        if self.chunks is not None:
            head.append("Transfer-Encoding: chunked")
        if self.content_length is not None:
            head.append(f"Content-Length: {len(body) if self.content_length == 'auto' else self.content_length}")
        head += self.extra_headers
        return (self.newline.join(head) + self.newline * 2).encode("utf-8") + body

    artifact = payload

    def expected_html(self) -> bytes | None:
        """The body the reader must hand on for a well-formed response (every coding undone), else None."""
        page = self.page()
        well_formed = (
            self.status == "HTTP/1.1 200 OK"
            and self.content_type == "text/html"
            and self.coding_header is None
            and self.bomb is None
            and self.corrupt is None
            and (self.chunks is None or self.chunks.valid())
            and self.content_length in ("auto", None)
            and not self.extra_headers
            and self.newline == "\r\n"
        )
        plain = page.strip() and b"\x00" not in page and len(page) <= MAX_PAYLOAD
        return page if well_formed and plain else None


CODING_HEADERS = ("gzip", "br", "deflate", "gzip, br", "br, gzip", "x-gzip", "GZIP", "compress", "identity", "")
CODING_HEADERS += ("gzip, gzip, gzip, gzip", "utf-8", "gzip\x00")


def _flips(max_size: int, min_size: int = 0) -> st.SearchStrategy[tuple[tuple[float, int], ...]]:
    """(position as a fraction of the length, XOR mask) pairs."""
    return st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=min_size, max_size=max_size).map(tuple)


def chunkings(valid: bool = False) -> st.SearchStrategy[Chunking]:
    bad = st.tuples(st.integers(0, 4), st.sampled_from(BAD_CHUNK_SIZES) | st.text(max_size=6))
    return st.builds(
        Chunking,
        cuts=st.lists(st.integers(0, 400), max_size=6).map(tuple),
        bad=st.just(()) if valid else st.one_of(st.just(()), st.lists(bad, max_size=2).map(tuple)),
        extension=st.sampled_from(("", ";x=y") if valid else ("", ";x=y", ";" + "e" * 5000, " ;a")),
        upper=st.booleans(),
        newline=st.just("\r\n") if valid else st.sampled_from(("\r\n", "\r\n", "\n")),
        last=st.sampled_from(VALID_LAST_CHUNKS if valid else LAST_CHUNKS),
    )


def http_payloads() -> st.SearchStrategy[HttpPayload]:
    """Well-formed responses (every coding and chunking valid: the decoded body can be checked exactly) and
    responses hostile in any field."""
    well_formed = st.builds(
        HttpPayload,
        html=light_html(),
        charset=_header_labels(),
        codings=st.lists(st.sampled_from(tuple(ENCODERS)), max_size=2).map(tuple),
        chunks=st.one_of(st.none(), chunkings(valid=True)),
        content_length=st.sampled_from(("auto", None)),
    )
    hostile = st.builds(
        HttpPayload,
        html=light_html(),
        status=st.sampled_from(STATUS_LINES),
        content_type=st.sampled_from(CONTENT_TYPES),
        charset=_header_labels(),
        codings=st.lists(st.sampled_from(tuple(ENCODERS)), max_size=2).map(tuple),
        coding_header=st.one_of(st.none(), st.sampled_from(CODING_HEADERS)),
        bomb=st.one_of(st.none(), st.sampled_from(BOMB_SPECS)),
        corrupt=st.one_of(st.none(), st.builds(Corruption, st.floats(0, 1), _flips(3))),
        chunks=st.one_of(st.none(), chunkings()),
        content_length=st.sampled_from(("auto", None, "0", "-1", "abc", "99999999999999999999", "", "1, 2")),
        extra_headers=st.lists(st.sampled_from(EXTRA_HEADERS), max_size=2).map(tuple),
        newline=st.sampled_from(("\r\n", "\n")),
    )
    return well_formed | hostile


def _header_labels() -> st.SearchStrategy[str | None]:
    return charset_labels().filter(lambda s: s is None or not any(c in s for c in "\r\n"))


# ---------------------------------------------------------------------------------------------------------------
# WARC files: N records, one of them mutated
# ---------------------------------------------------------------------------------------------------------------


@functools.cache
def fixed_page(variant: int) -> bytes:
    """An ordinary HTTP response with an English page (4 variants: the records a mutation must not affect)."""
    paras = "".join(f"<p>Paragraph {k} of page {variant}, with enough words to be a sentence.</p>" for k in range(12))
    return utf8_page(f"<html><head><title>Page {variant}</title></head><body><article>{paras}</article></body></html>")


@dataclass(frozen=True)
class Record:
    """One WARC record as written: its id, its bytes before compression, and whether it is a document."""

    record_id: str
    plain: bytes
    document: bool


def write_records(pages: tuple[int, ...], requests: bool, warcinfo: bool, hostile: bytes | None = None) -> list:
    """The records of a CommonCrawl-like file (warcinfo, request + response per page). `hostile`: the payload of
    the middle page's response instead of its fixed page."""
    writer, records = WarcWriter("fuzz.warc.gz", file_no=7, compress=False), []

    def keep(record_id: str, document: bool) -> None:
        records.append(Record(record_id, writer.members[-1], document))

    if warcinfo:
        keep(writer.warcinfo("fuzz"), False)
    for i, variant in enumerate(pages):
        url = f"https://site{variant}.example/{i}"
        if requests:
            keep(writer.request(url), False)
        if hostile is not None and i == len(pages) // 2:  # no digests: the payload may not even hold a head
            http = "application/http; msgtype=response"
            keep(writer.add("response", http, hostile, [("WARC-Target-URI", url)]), True)
        else:
            keep(writer.response(url, fixed_page(variant), None if hostile is not None else "text/html"), True)
    return records


def _compress(record: bytes) -> bytes:
    return gzip.compress(record, compresslevel=6, mtime=0)


@dataclass(frozen=True)
class Mutation:
    """What is done to one record. Header-level kinds edit the record before compression: `content_length`
    (arg: a delta, or a literal value), `drop_field` (a header name), `version` (the first line), `lf_header`,
    `duplicate_length` (a second Content-Length header, arg a delta). Byte-level kinds edit the stored bytes (the
    gzip member of a .warc.gz): `truncate` (fraction kept), `insert` (fraction, bytes), `flip` ((fraction, mask),
    ...), `delete` (fraction, count), `empty`."""

    kind: str
    arg: Any = None


HEADER_MUTATIONS = ("content_length", "drop_field", "version", "lf_header", "duplicate_length")


def _edit_header(record: bytes, mutation: Mutation) -> bytes:
    head, sep, block = record.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next((int(line.split(b":")[1]) for line in lines if line.startswith(b"Content-Length:")), 0)
    kind, arg = mutation.kind, mutation.arg
    if kind == "content_length":
        value = str(length + arg) if isinstance(arg, int) else arg
        field = b"Content-Length: " + value.encode()
        lines = [field if line.startswith(b"Content-Length:") else line for line in lines]
    elif kind == "duplicate_length":
        lines.append(f"Content-Length: {length + arg}".encode())
    elif kind == "drop_field":
        lines = [line for line in lines if not line.lower().startswith(arg.lower().encode() + b":")]
    elif kind == "version":
        lines[0] = arg.encode()
    elif kind == "lf_header":
        return b"\n".join(lines) + b"\n\n" + block
    return b"\r\n".join(lines) + sep + block


def _edit_bytes(data: bytes, mutation: Mutation) -> bytes:
    kind, arg = mutation.kind, mutation.arg
    at = lambda fraction: int(fraction * len(data))  # noqa: E731
    if kind == "truncate":
        return data[: at(arg)]
    if kind == "insert":
        return data[: at(arg[0])] + arg[1] + data[at(arg[0]) :]
    if kind == "delete":
        return data[: at(arg[0])] + data[at(arg[0]) + arg[1] :]
    if kind == "flip":
        out = bytearray(data)
        for fraction, mask in arg:
            if out:
                out[min(at(fraction), len(out) - 1)] ^= mask
        return bytes(out)
    if kind == "empty":
        return b""
    raise ValueError(kind)


def mutate(record: bytes, mutation: Mutation, compress: bool) -> bytes:
    """The stored bytes of a record after `mutation`."""
    if mutation.kind in HEADER_MUTATIONS:
        edited = _edit_header(record, mutation)
        return _compress(edited) if compress else edited
    return _edit_bytes(_compress(record) if compress else record, mutation)


@dataclass(frozen=True)
class MutatedWarc:
    """A WARC (gzip members or plain) of responses (`pages`: fixed page variants), maybe a warcinfo and a
    request per page, whose record `target` (in file order) had `mutation` done to it."""

    pages: tuple[int, ...]
    requests: bool
    warcinfo: bool
    compress: bool
    target: int
    mutation: Mutation

    def records(self) -> list[Record]:
        return write_records(self.pages, self.requests, self.warcinfo)

    def clean(self) -> bytes:
        return b"".join(_compress(r.plain) if self.compress else r.plain for r in self.records())

    def mutated(self) -> bytes:
        records = self.records()
        target = self.target % len(records)
        stored = [_compress(r.plain) if self.compress else r.plain for r in records]
        stored[target] = mutate(records[target].plain, self.mutation, self.compress)
        return b"".join(stored)

    artifact = mutated


CONTENT_LENGTH_VALUES = (
    "-1", "0", "", "abc", " 12", "0x10", "1e3", str(2**31), str(2**63), str(2**64 + 5), str(10**30), "+5", "5 5",
)  # fmt: skip
HEADER_FIELDS = ("WARC-Type", "Content-Length", "WARC-Record-ID", "WARC-Target-URI", "WARC-Date", "Content-Type")
VERSION_LINES = ("WARX/1.0", "WARC/9.9", "warc/1.0", "WARC/1.1", "", "WARC/1.0 extra", "HTTP/1.1 200 OK", "WARC/")


def mutations() -> st.SearchStrategy[Mutation]:
    """Mutations of one record. Content-Length deltas stay within +-4096 bytes of the truth and never equal a
    whole later record, so a mutated record can always be told apart from one that swallowed its neighbour."""
    delta = st.integers(-64, 64).filter(bool) | st.sampled_from((-4096, -1000, -128, 127, 128, 1000, 4096))
    fraction = st.floats(0, 1)
    return st.one_of(
        st.builds(Mutation, st.just("content_length"), delta | st.sampled_from(CONTENT_LENGTH_VALUES)),
        st.builds(Mutation, st.just("duplicate_length"), delta),
        st.builds(Mutation, st.just("drop_field"), st.sampled_from(HEADER_FIELDS)),
        st.builds(Mutation, st.just("version"), st.sampled_from(VERSION_LINES)),
        st.just(Mutation("lf_header")),
        st.builds(Mutation, st.just("truncate"), fraction),
        st.builds(Mutation, st.just("insert"), st.tuples(fraction, st.binary(min_size=1, max_size=64))),
        st.builds(Mutation, st.just("delete"), st.tuples(fraction, st.integers(1, 200))),
        st.builds(Mutation, st.just("flip"), _flips(4, min_size=1)),
        st.just(Mutation("empty")),
    )


def mutated_warcs() -> st.SearchStrategy[MutatedWarc]:
    return st.builds(
        MutatedWarc,
        pages=st.lists(st.integers(0, 3), min_size=2, max_size=5).map(tuple),
        requests=st.booleans(),
        warcinfo=st.booleans(),
        compress=st.booleans(),
        target=st.integers(0, 20),
        mutation=mutations(),
    )


@dataclass(frozen=True)
class PayloadWarc:
    """A WARC whose middle response carries a hostile HTTP payload between intact ones."""

    payload: HttpPayload
    pages: tuple[int, ...] = (0, 1, 2)
    requests: bool = False
    compress: bool = True

    def build(self, hostile: bool) -> tuple[bytes, list[Record]]:
        """The file with the hostile payload, or (hostile False) with an ordinary page in its place."""
        records = write_records(self.pages, self.requests, True, self.payload.payload() if hostile else utf8_page(""))
        return b"".join(_compress(r.plain) if self.compress else r.plain for r in records), records

    def artifact(self) -> bytes:
        return self.build(True)[0]


def payload_warcs() -> st.SearchStrategy[PayloadWarc]:
    return st.builds(
        PayloadWarc,
        payload=http_payloads(),
        pages=st.lists(st.integers(0, 3), min_size=1, max_size=3).map(tuple),
        requests=st.booleans(),
        compress=st.booleans(),
    )


@dataclass(frozen=True)
class Junk:
    """Bytes that may not be a WARC at all (the reader may refuse the whole file)."""

    data: bytes

    def artifact(self) -> bytes:
        return self.data

    def __repr__(self) -> str:
        text = repr(self.data)
        return f"Junk({text[:400]}{'...' if len(text) > 400 else ''}, {len(self.data)} bytes)"


def junk_files() -> st.SearchStrategy[Junk]:
    """Random bytes, and bytes that start like a WARC, a WET, an ARC or a gzip member and then go wrong."""
    tail = st.binary(max_size=600)
    record_head = st.builds(
        lambda t, n, rest: f"WARC/1.0\r\nWARC-Type: {t}\r\nContent-Length: {n}\r\n\r\n".encode() + rest,
        st.sampled_from(("response", "conversion", "request", "warcinfo", "x", "")),
        st.sampled_from(("0", "5", "-5", "100000000", "x", "")),
        tail,
    )
    arc_head = st.builds(
        lambda n, rest: b"filedesc://x.arc 0.0.0.0 20080101000000 text/plain %s\n" % n.encode() + rest,
        st.sampled_from(("0", "10", "99999999", "-1")),
        tail,
    )
    return st.one_of(
        st.binary(max_size=2048),
        tail.map(lambda b: b"WARC/1.0\r\n" + b),
        tail.map(lambda b: b"filedesc://" + b),
        tail.map(lambda b: gzip.compress(b, mtime=0)),
        tail.map(lambda b: b"\x1f\x8b\x08" + b),
        record_head,
        record_head.map(lambda b: gzip.compress(b, mtime=0)),
        arc_head,
        arc_head.map(lambda b: gzip.compress(b, mtime=0)),
    ).map(Junk)


# ---------------------------------------------------------------------------------------------------------------
# Legacy ARC files
# ---------------------------------------------------------------------------------------------------------------

ARC_DESC = b"1 0 CommonCrawl\nURL IP-address Archive-date Content-type Archive-length\n"
ARC_HEADER_VARIANTS = (
    "{url} 10.0.0.1 2008-06-18 text/html {n}", "{url} 10.0.0.1 20080618123456 {n}", "{url}  10.0.0.1 20080618123456"
    " text/html {n}", "{url}\t10.0.0.1\t20080618123456\ttext/html\t{n}", "{url} 10.0.0.1 20080618123456 text/html",
    "{long}", "", "{url} with space 10.0.0.1 20080618123456 text/html {n}",
    "{url} 10.0.0.1 20080618123456 text/html extra fields here {n}",
)  # fmt: skip


@dataclass(frozen=True)
class ArcMutation:
    """`length` (arg: delta or literal), `header` (a format of ARC_HEADER_VARIANTS), or a byte-level Mutation."""

    kind: str
    arg: Any = None


@dataclass(frozen=True)
class MutatedArc:
    pages: tuple[int, ...]
    compress: bool
    target: int  # 0 is the filedesc record
    mutation: ArcMutation

    def entries(self, mutated: bool) -> list[bytes]:
        out = [b"filedesc://fuzz.arc 0.0.0.0 20080101000000 text/plain %d\n" % len(ARC_DESC) + ARC_DESC + b"\n"]
        for i, variant in enumerate(self.pages):
            url, payload = f"http://arc{variant}.example/{i}", fixed_page(variant)
            here = mutated and self.target % (len(self.pages) + 1) == i + 1
            out.append(self._header(url, len(payload), here).encode() + b"\n" + payload + b"\n")
        return out

    def _header(self, url: str, length: int, mutated: bool) -> str:
        kind, arg = self.mutation.kind, self.mutation.arg
        if mutated and kind == "header":
            return arg.format(url=url, n=length, long="x" * 70_000)  # a line over the reader's 64 KB
        if mutated and kind == "length":
            length = arg if isinstance(arg, str) else length + arg
        return f"{url} 10.0.0.1 20080618123456 text/html {length}"

    def build(self, mutated: bool) -> bytes:
        stored = [_compress(e) if self.compress else e for e in self.entries(mutated)]
        target = self.target % len(stored)
        if mutated and self.mutation.kind not in ("length", "header"):
            stored[target] = _edit_bytes(stored[target], Mutation(self.mutation.kind, self.mutation.arg))
        return b"".join(stored)

    def artifact(self) -> bytes:
        return self.build(True)


def mutated_arcs() -> st.SearchStrategy[MutatedArc]:
    delta = st.integers(-64, 64).filter(bool) | st.sampled_from((-1000, 1000, 10**9))
    byte_level = mutations().filter(lambda m: m.kind not in HEADER_MUTATIONS).map(lambda m: ArcMutation(m.kind, m.arg))
    return st.builds(
        MutatedArc,
        pages=st.lists(st.integers(0, 3), min_size=2, max_size=4).map(tuple),
        compress=st.booleans(),
        target=st.integers(0, 10),
        mutation=st.one_of(
            st.builds(ArcMutation, st.just("length"), delta | st.sampled_from(("-1", "", "abc", str(10**30)))),
            st.builds(ArcMutation, st.just("header"), st.sampled_from(ARC_HEADER_VARIANTS)),
            byte_level,
        ),
    )


# ---------------------------------------------------------------------------------------------------------------
# Stage configs: any value within the declared ranges of a config dataclass
# ---------------------------------------------------------------------------------------------------------------


def configs(cls: type) -> st.SearchStrategy:
    """Instances of a config dataclass whose fields take their default or any value inside the range their
    `param(ge=, le=)` declares: thresholds at 0, at 1, and far from the defaults."""
    fields = {}
    for f in dataclasses.fields(cls):
        default, ge, le = f.default, f.metadata.get("ge"), f.metadata.get("le")
        if isinstance(default, bool):
            other = st.booleans()
        elif isinstance(default, int):
            low = int(ge) if ge is not None else 0
            other = st.integers(low, int(le) if le is not None else max(4 * default, low + 10))
        elif isinstance(default, float):
            low = float(ge) if ge is not None else 0.0
            other = st.floats(low, float(le) if le is not None else max(4 * default, low + 1), allow_nan=False)
        else:
            other = st.just(default)
        fields[f.name] = st.one_of(st.just(default), other)
    return st.builds(cls, **fields)
