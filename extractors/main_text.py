"""`extract`: main text from HTML; `method` picks trafilatura, resiliparse, or a cascade of the two.

- `trafilatura`: FineWeb's call (favor_precision, tables, no comments). Best precision on news articles, but
  it keeps only a fragment of forums, listings and collections (recall 0.45-0.51 there on a held-out set).
- `resiliparse`: DCLM's call (`extract_plain_text(tree, main_content=True, alt_texts=False,
  preserve_formatting=True)`) with comment sections off like trafilatura's. About 13x cheaper than trafilatura;
  high recall, but it keeps sidebars, teaser lists and bylines: lower precision on articles.
- `cascade` (default): resiliparse first; trafilatura instead where it is likely to do better, by a rule
  decided from the page alone:
    1. the page declares itself an article (Open Graph `og:type=article`, or a schema.org Article/NewsArticle/
       BlogPosting/... type in JSON-LD or microdata): trafilatura;
    2. else resiliparse, unless it finds fewer than `cascade_min_words` words (50, Gopher's minimum document
       length: resiliparse's main-content pass sometimes empties a page): then trafilatura, whose verdict
       stands (a boilerplate-only page stays `extract.no_text`).
  resiliparse is never given a page nested deeper than `max_depth` (its main-content pass is quadratic in depth,
  inside one C call): the cascade hands such a page to trafilatura, `method: resiliparse` drops it as too complex.
  On the 1,377 referenced pages of ../shared/data/html_eval (bench/quality/eval_extraction_all.py, BENCHMARKS.md
  "Extraction method"), it keeps trafilatura's quality on articles (bag-of-words F1 0.942 vs 0.946) and beats
  it on pages that are not (0.912 vs 0.900), at 7.0 CPU-ms a real crawl page against trafilatura's 45.1: only 18%
  of the 158 crawl pages of ../shared/data/warc declare themselves articles (74% of html_eval's pages do).

Deterministic on purpose: every method sees one page at a time, with no state across documents
(trafilatura's `deduplicate=True` keeps an LRU cache across documents, DESIGN.md invariant 3; we never turn it
on); the cascade's rule reads only the page.

Which pages are too costly to extract is decided from the page, not from a clock, so that the same input gives
the same documents on any machine and under any load (FineWeb's 1 s wall-clock limit does not: a loaded or
slower machine drops more). trafilatura's CPU time grows with the number of HTML tags (Pearson r 0.95 over
1,604 real pages, about 0.06 CPU-s per 1,000 tags; payload bytes alone predict it poorly, r 0.34:
BENCHMARKS.md "Extraction cost"), so before any method a page is dropped when its payload is over
`max_html_bytes` (`extract.too_large`: this also bounds what reaches lxml and lexbor) or it has more than
`max_tags` start tags (`extract.too_complex`), counted with one regex before any parse (0.15 ms a page). A
CPU-time limit remains as a safety net far above any page that passes the guards (`extract.timeout`; it stops
Python code, and a C call (lxml, lexbor) when it returns: the guards bound those).
Drops: `extract.too_large`, `extract.too_complex`, `extract.no_text` (nothing left: boilerplate-only pages),
`extract.timeout`, `extract.error`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import pyarrow as pa

from core.batch import error_reason, set_column, with_drop_reasons
from core.contracts import Contract
from core.html import ParseGuards, decode_html, nested_selector
from core.record_guard import RecordGuard
from core.registry import param, register
from core.timelimit import TimeLimitExceeded, time_limit

log = logging.getLogger(__name__)

METHODS = ("trafilatura", "resiliparse", "cascade")
# An article, as the page declares it: <meta property="og:type" content="article"> (attributes in any order) ...
# [^<>] with a bound: on `<meta og:type ` repeated with no `>`, [^>]*? retried every later byte (cubic).
_OG_TYPE_TAG = re.compile(r"<meta\b[^<>]{0,1000}?og:type[^<>]{0,1000}>", re.I)
_CONTENT_ARTICLE = re.compile(r"""\bcontent\s*=\s*["']?\s*article\b""", re.I)
# ... or a schema.org article type in JSON-LD ("@type": "NewsArticle") or microdata (itemtype=".../BlogPosting").
# Not DiscussionForumPosting or SocialMediaPosting: forums are where trafilatura loses most.
_SCHEMA_ARTICLE = re.compile(
    r"""(?:"@type"\s*:\s*\[?\s*"|itemtype\s*=\s*["']?https?://schema\.org/)"""
    r"""(?:\w*Article|BlogPosting|Report)\b""",  # Article and every subtype: NewsArticle, ReportageNewsArticle...
    re.I,
)


@dataclass(frozen=True)
class ExtractConfig:
    method: str = param(
        "cascade",
        "trafilatura (FineWeb's call) | resiliparse (DCLM's call, comments off) | cascade: resiliparse, "
        "trafilatura on declared articles and near-empty results (extractors/main_text.py; BENCHMARKS.md)",
        choices=METHODS,
    )
    max_html_bytes: int = param(
        2_000_000,
        "larger payloads are dropped unparsed (extract.too_large); CommonCrawl truncates bodies at 1 MiB, so this "
        "only meets other crawls' pages (1 of 1,604 real pages here)",
        ge=1,
    )
    max_tags: int = param(
        20_000,
        "pages with more HTML start tags are dropped before any parse (extract.too_complex): 2 of 1,604 real "
        "pages; the slowest real page under it took 1.0 CPU-s in trafilatura here (bench/perf/extract_cost.py)",
        ge=1,
    )
    max_attributes: int = param(
        ParseGuards.max_attributes,
        "pages with a tag holding more attributes are dropped before any parse (extract.too_complex): lexbor "
        "and libxml2 are quadratic in one element's attributes (150,000: ~100 CPU-s); real pages: at most 307",
        ge=1,
    )
    max_reconstructed: int = param(
        ParseGuards.max_reconstructed,
        "pages whose unclosed formatting tags (<b>, <font>, ...) would make the HTML5 parser re-create more "
        "elements are dropped before any parse (extract.too_complex): 3,000 x 3,000 took 3.7 GB, 570,000 "
        "~215 MB; real pages: at most 161,318 (core/html.py)",
        ge=1,
    )
    timeout_s: float = param(
        10.0,
        "CPU-time safety net per document (extract.timeout): 10x the slowest page that passes the guards",
        ge=0.001,
    )
    favor_precision: bool = param(True, "trafilatura favor_precision: less text, less boilerplate (FineWeb)")
    include_comments: bool = param(False, "keep user comments (FineWeb: no); both libraries")
    include_tables: bool = param(True, "keep table text (trafilatura's default; resiliparse skips <table> if off)")
    max_depth: int = param(
        128,
        "resiliparse is not given pages nested this deep (cascade: trafilatura takes them; resiliparse: "
        "extract.too_complex): its main-content pass is quadratic in depth (10,000 levels: 2 CPU-s in one C call "
        "that no timer interrupts); the deepest of 1,725 real pages is 54 (filters/language_prepass.py)",
        ge=2,
    )
    cascade_min_words: int = param(
        50,
        "cascade: where resiliparse finds fewer words (whitespace-separated), trafilatura decides (Gopher's "
        "50-word minimum document length)",
        ge=0,
    )


EXTRACT_CONTRACT = Contract(
    needs=("html",),
    provides=("text",),
    drop_reasons=("too_large", "too_complex", "no_text", "timeout", "error"),
)


@register("extract", ExtractConfig, contract=EXTRACT_CONTRACT)
class Extractor:
    """Extract the main text of HTML pages (trafilatura, resiliparse or both); WET records pass through."""

    def __init__(self, cfg: ExtractConfig):
        self.cfg = cfg
        self._warned = False
        if cfg.method != "resiliparse":
            import trafilatura  # heavy imports, done once per worker task

            self._extract = trafilatura.extract
        if cfg.method != "trafilatura":
            from resiliparse.extract.html2text import extract_plain_text
            from resiliparse.parse.html import HTMLTree

            self._plain_text, self._parse = extract_plain_text, HTMLTree.parse
            self._too_deep = nested_selector(cfg.max_depth)
        self._method = {"trafilatura": self._trafilatura, "resiliparse": self._resiliparse}.get(
            cfg.method, self._cascade
        )
        self._guards = ParseGuards(cfg.max_tags, cfg.max_attributes, cfg.max_reconstructed)

    def __call__(self, batch: pa.Table, guard: RecordGuard | None = None) -> pa.Table:
        guard = guard or RecordGuard()
        htmls = batch.column("html").to_pylist()
        charsets = batch.column("charset").to_pylist()
        texts = batch.column("text").to_pylist()
        doc_ids, urls = batch.column("doc_id").to_pylist(), batch.column("url").to_pylist()
        reasons: list[str | None] = [None] * batch.num_rows
        for i, body in enumerate(htmls):
            if body is None:
                continue  # WET text, already plain
            result, problem = guard.run(doc_ids[i], "extract", self.extract_page, body, charsets[i], url=urls[i])
            texts[i], reasons[i], _ = result or (None, error_reason("extract", problem), None)
        batch = set_column(batch, "text", pa.array(texts, type=pa.large_string()))
        batch = set_column(batch, "html", pa.nulls(batch.num_rows, pa.large_binary()))  # free the HTML early
        return with_drop_reasons(batch, reasons)

    def extract_page(self, body: bytes, charset: str | None) -> tuple[str | None, str | None, str | None]:
        """(text, drop reason, the library whose text it is) for one HTTP body."""
        if len(body) > self.cfg.max_html_bytes:
            return None, "extract.too_large", None
        html = decode_html(body, charset)
        if self._guards.problem(html) is not None:
            return None, "extract.too_complex", None
        try:
            with time_limit(self.cfg.timeout_s):
                text, via = self._method(html)
        except TimeLimitExceeded:
            return None, "extract.timeout", None
        except _TooDeep:
            return None, "extract.too_complex", None
        except Exception as e:  # lxml, lexbor and trafilatura raise many types on hostile markup; the page is dropped
            if not self._warned:
                log.warning("extract: %s: %s (warned once per worker)", type(e).__name__, e)
                self._warned = True
            return None, "extract.error", None
        text = (text or "").strip()
        return (text, None, via) if text else (None, "extract.no_text", via)

    def _trafilatura(self, html: str) -> tuple[str | None, str]:
        cfg = self.cfg
        text = self._extract(
            html,
            favor_precision=cfg.favor_precision,
            include_comments=cfg.include_comments,
            include_tables=cfg.include_tables,
            deduplicate=False,
        )
        return text, "trafilatura"

    def _resiliparse(self, html: str) -> tuple[str, str]:
        text = self._resiliparse_text(html)
        if text is None:
            raise _TooDeep
        return text, "resiliparse"

    def _resiliparse_text(self, html: str) -> str | None:
        """resiliparse's main-content text; None for a page nested deeper than `max_depth`."""
        tree = self._parse(html)
        if tree.document is None:
            return ""
        if tree.document.query_selector(self._too_deep) is not None:
            return None
        return self._plain_text(
            tree,
            main_content=True,
            alt_texts=False,
            preserve_formatting=True,
            comments=self.cfg.include_comments,
            skip_elements=None if self.cfg.include_tables else ["table"],
        )

    def _cascade(self, html: str) -> tuple[str | None, str]:
        if declares_article(html):
            return self._trafilatura(html)
        text = self._resiliparse_text(html)
        if text is None or len(text.split()) < self.cfg.cascade_min_words:
            return self._trafilatura(html)
        return text, "resiliparse"


class _TooDeep(Exception):
    """A page resiliparse must not be given (`max_depth`)."""


def declares_article(html: str) -> bool:
    """The page says it is an article: og:type=article, or a schema.org article type (JSON-LD, microdata)."""
    if any(_CONTENT_ARTICLE.search(tag.group()) for tag in _OG_TYPE_TAG.finditer(html)):
        return True
    return _SCHEMA_ARTICLE.search(html) is not None
