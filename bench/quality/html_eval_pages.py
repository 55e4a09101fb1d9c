"""Every page of ../shared/data/html_eval that has a reference, with its source and page kind.

Sources and references (../shared/data/html_eval/PROVENANCE.md):
  scrapinghub       181 news/blog pages; manual gold `articleBody` (full text)
  czech              76 Czech news pages from CommonCrawl (CmonCrawl's test_articles); `content` of the truth JSON
                        (the body; headline and lead are separate fields there)
  readability       130 Mozilla Readability test pages; the text of Readability.js's `expected.html` (an algorithm's
                        output, not human gold), its text nodes joined by spaces
  trafilatura_eval  990 pages of trafilatura's own evaluation set; snippets: `with` must appear, `without` must not
Not used: CmonCrawl's 27 `filter_articles` (no reference) and the crawl pages of ../shared/data/warc (no reference;
quality/eval_extraction_all.py times them only).

Page kinds (the sources label none but ScrapingHub's and CmonCrawl's, which are all articles):
  article    news, blog and magazine articles
  forum      threads, Q&A (trafilatura_eval: URL patterns below)
  listing    home pages, section fronts, category/tag pages, weekly editions
  product    shop and product pages, rentals
  other      wiki/encyclopedia, documentation, books and specs, recipes, about pages, fiction
  undated    trafilatura_eval pages whose annotators recorded no publication date (`date: ""`) and that no URL pattern
             places: mostly company, service and information pages, with some undated news
  synthetic  Readability's hand-made unit-test pages (source under 4 KB: 37 pages), neither article nor not
trafilatura_eval: the first URL pattern that matches (URL_KINDS), else `undated` if the annotators left the date empty,
else `article` (a date was recorded, or no metadata: the 139 such pages are mostly dated news URLs).
readability: READABILITY_KINDS, by reading each page; every other page over 4 KB is an article.
"""

from __future__ import annotations

import glob
import gzip
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import SHARED

HTML_EVAL = SHARED / "html_eval"
NOT_ARTICLE = ("forum", "listing", "product", "other", "undated")
SYNTHETIC_MAX_BYTES = 4096
URL_KINDS = (  # matched against host + path (+ ?query), lowercased, "www." dropped
    (
        "forum",
        re.compile(
            r"/forums?/|^(foren|forum)\.|viewtopic\.php|showthread\.php|/threads?/|/t\d+-|/comments/|/questions/\d"
        ),
    ),
    ("product", re.compile(r"/products?/|/produkte?/|/shop/|^shop\.|/ferienhaus/|/ferienvilla/")),
    ("listing", re.compile(r"/categor(y|ies)/|/kategorie/|/tags?/|/page/\d|\?letter=|/(news|blog)/?$")),
    (
        "other",
        re.compile(
            r"/wiki/|^wiki\.|wiki(dot|a)?\.(com|org)|^docs\.|/docs/|^github\.com/[^/]+/[^/]+/?$|/rezepte?/|/recipes?/|"
            r"/przepis/|/receitas?/|/about(-us)?/?$|/(ueber|uber)-uns/?$|/impressum|/kontakt"
        ),
    ),
)
READABILITY_KINDS = {
    **dict.fromkeys(("lwn-1", "nytimes-5", "yahoo-2"), "listing"),  # a weekly edition, two front pages
    **dict.fromkeys(("mozilla-1", "mozilla-2"), "product"),
    **dict.fromkeys(
        ("wikipedia", "wikipedia-2", "wikipedia-3", "wikipedia-4", "google-sre-book-1", "ietf-1", "mercurial"), "other"
    ),  # encyclopedia, a book chapter, an RFC, documentation
    **dict.fromkeys(("archive-of-our-own", "royal-road", "hukumusume", "clean-links", "daringfireball-1"), "other"),
}  # fiction, a fable, a literature study text, a colophon


def url_kind(url: str | None) -> str | None:
    if not url or "::" in url:  # trafilatura's "hard::file.html" entries have no URL
        return None
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    if host == "web.archive.org":  # the archived URL is in the path
        return url_kind(parts.path.split("/", 3)[-1]) if parts.path.count("/") >= 3 else None
    if parts.path.strip("/") in ("", "index.html", "index.php", "index.htm") and not parts.query:
        return "listing"  # a site's home page
    target = host + parts.path.lower() + ("?" + parts.query if parts.query else "")
    return next((kind for kind, pattern in URL_KINDS if pattern.search(target)), None)


def _gz(path: Path | str) -> bytes:
    with gzip.open(path, "rb") as f:
        return f.read()


def _page(source: str, page_id: str, kind: str, html: bytes, **ref) -> dict:
    return {"id": f"{source}/{page_id}", "source": source, "kind": kind, "html": html, "gold": None, **ref}


def scrapinghub() -> list[dict]:
    root = HTML_EVAL / "scrapinghub_aeb"
    truth = json.loads((root / "ground-truth.json").read_text())
    return [
        _page("scrapinghub", k, "article", _gz(root / "html" / f"{k}.html.gz"), gold=v.get("articleBody") or "")
        for k, v in sorted(truth.items())
    ]


def czech() -> list[dict]:
    pages = []
    for path in sorted(glob.glob(str(HTML_EVAL / "cmoncrawl_czech_news/*/truth/*.json"))):
        site_dir = Path(path).parent.parent
        html = _gz(site_dir / "test_articles" / (Path(path).stem + ".html.gz"))
        gold = json.loads(Path(path).read_text()).get("content") or ""
        pages.append(_page("czech", f"{site_dir.name}/{Path(path).stem}", "article", html, gold=gold))
    return pages


def readability() -> list[dict]:
    from lxml import html as lxml_html

    pages = []
    for case in sorted(p for p in (HTML_EVAL / "readability_test_pages").iterdir() if p.is_dir()):
        source = _gz(case / "source.html.gz")
        expected = _gz(case / "expected.html.gz").decode("utf-8")
        gold = " ".join(lxml_html.fromstring(expected).itertext()) if expected.strip() else ""
        kind = "synthetic" if len(source) < SYNTHETIC_MAX_BYTES else READABILITY_KINDS.get(case.name, "article")
        pages.append(_page("readability", case.name, kind, source, gold=gold))
    return pages


def trafilatura_eval() -> list[dict]:
    root = HTML_EVAL / "trafilatura_eval"
    pages = []
    for url, entry in json.loads((root / "evaldata.json").read_text()).items():
        path = root / "eval" / (entry["file"] + ".gz")
        path = path if path.exists() else root / "cache" / (entry["file"] + ".gz")
        kind = url_kind(url) or ("undated" if entry.get("date") == "" else "article")
        pages.append(
            _page(
                "trafilatura_eval",
                entry["file"],
                kind,
                _gz(path),
                url=url,
                with_=entry["with"],
                without=entry["without"],
            )
        )
    return pages


def all_pages() -> list[dict]:
    return scrapinghub() + czech() + readability() + trafilatura_eval()
