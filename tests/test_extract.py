"""extract: every method keeps the main text and drops the page chrome; the guards, the time limit and the WET
passthrough hold for every method; the cascade's rule; decoding survives lying charsets."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

from core.batch import READ_SCHEMA
from core.registry import REGISTRY
from core.timelimit import TimeLimitExceeded, time_limit
from extractors.main_text import METHODS, ExtractConfig, Extractor, declares_article, decode_html
from pipeline.config import ConfigError, load
from readers.warc import ReadConfig, WarcReader
from tests.conftest import FIXTURES, write_config

ARTICLE = (
    b"<html><body><article><p>"
    + b"Bread rises because yeast makes gas in the dough. " * 30
    + b"</p></article></body></html>"
)
# A 500 x 500 table: trafilatura needs several seconds on it (2.3 s for 300 x 300 on this machine), resiliparse
# about 0.5 s; 4.5 MB and 250,000 tags, so the guards drop it unparsed.
RUNAWAY = b"<html><body><table>" + (b"<tr>" + b"<td>cell text</td>" * 500 + b"</tr>") * 500 + b"</table></body></html>"
PARAGRAPHS = (
    "The tide is the slow rise and fall of the sea, driven mostly by the pull of the Moon on the oceans.",
    "Because the Earth turns beneath two bulges of water, most coasts see two high tides and two low tides a day.",
    "When the Sun and the Moon line up, at new and full moon, their pulls add together and the range is largest.",
    "These spring tides alternate with neap tides, a week later, when the two bodies pull at right angles.",
    "The shape of a bay can amplify the range enormously, so that some harbours empty completely at low water.",
    "Sailors still plan their passages with tide tables, because a strong current can double or halve their speed.",
)
CHROME = ("We use cookies", "Accept all cookies", "Coastline Notes", "Guides", "Related stories", "lighthouse walks",
          "All rights reserved", "Privacy policy")  # fmt: skip


def page(og_type: str = "website", paragraphs: tuple[str, ...] = PARAGRAPHS) -> bytes:
    """A news-site page: cookie banner, header and menu, the article, a related-links sidebar, a footer."""
    menu = "".join(f'<li><a href="/{w.lower()}">{w}</a></li>' for w in ("News", "Guides", "Shop", "About"))
    related = "".join(
        f'<li><a href="/r{i}">{t}</a></li>' for i, t in enumerate(("Ten beaches to visit", "Our lighthouse walks"))
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>How tides work</title>'
        f'<meta property="og:type" content="{og_type}"></head><body>'
        '<div id="cookie-banner"><p>We use cookies to improve your experience.</p><button>Accept all cookies</button>'
        f'</div><header><a class="logo" href="/">Coastline Notes</a><nav><ul>{menu}</ul></nav></header>'
        "<main><article><h1>How tides work</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article>"
        f'<aside class="sidebar related"><h2>Related stories</h2><ul>{related}</ul></aside></main>'
        "<footer><p>Copyright 2024 Coastline Notes. All rights reserved.</p>"
        '<ul><li><a href="/privacy">Privacy policy</a></li></ul></footer></body></html>'
    ).encode()


def _batch(*bodies: bytes | None, charset: str | None = "utf-8", text: str | None = None) -> pa.Table:
    rows = [
        {
            **dict.fromkeys(READ_SCHEMA.names),
            "doc_id": i,
            "html": body,
            "text": text if body is None else None,
            "charset": charset,
            "content_length": len(body or b""),
        }
        for i, body in enumerate(bodies)
    ]
    return pa.Table.from_pylist(rows, schema=READ_SCHEMA)


def _fixture_rows() -> list[dict]:
    """The HTML pages of the fixture crawl that reach `extract`: 10 articles, 2 pages of boilerplate only."""
    return [r for r in WarcReader(ReadConfig())(str(FIXTURES / "warc/mixed.warc.gz"), 0) if r["drop_reason"] is None]


def _stage(method: str, **kw) -> Extractor:
    return REGISTRY.get("extract").build(ExtractConfig(method=method, **kw))


# ---------------------------------------------------------------- what each method keeps


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("og_type", ["website", "article"])
def test_every_method_keeps_the_article_and_drops_the_chrome(method, og_type):
    text, reason, _ = _stage(method).extract_page(page(og_type), "utf-8")
    assert reason is None
    for paragraph in PARAGRAPHS:
        assert paragraph in text
    assert [c for c in CHROME if c in text] == []


@pytest.mark.parametrize("method", METHODS)
def test_every_method_on_the_fixture_crawl_keeps_articles_without_menus_banners_or_footers(method):
    out = _stage(method)(_batch(*(r["html"] for r in _fixture_rows()), charset=None)).column("text").to_pylist()
    chrome = ("Cookie policy", "Accept all", "Related articles", "All rights reserved", "Privacy policy", "Sitemap")
    articles = [t for t in out if t and len(t) > 500]
    assert len(articles) == 10  # the 10 articles (5 languages) with chrome around them (make_fixtures.py)
    assert [c for t in articles for c in chrome if c in t] == []
    assert any(t.startswith("Planning a First Vegetable Garden in Raised Beds") for t in articles)


@pytest.mark.parametrize("method", METHODS)
def test_tables_are_kept_unless_turned_off(method):
    table = "".join(f"<tr><td>Harbour {i}</td><td>{i + 2}.5 metres tidal range</td></tr>" for i in range(8))
    body = page().replace(b"</article>", f"<table>{table}</table></article>".encode())
    assert "Harbour 7" in _stage(method).extract_page(body, "utf-8")[0]
    text = _stage(method, include_tables=False).extract_page(body, "utf-8")[0]
    assert "Harbour 7" not in text and PARAGRAPHS[0] in text


@pytest.mark.parametrize("method", METHODS)
def test_wet_text_passes_through_every_method(method):
    out = _stage(method)(_batch(None, page(), text="Plain text from a WET record."))
    assert out.column("text").to_pylist()[0] == "Plain text from a WET record."
    assert out.column("drop_reason").to_pylist() == [None, None]
    assert out.column("html").null_count == 2  # the HTML is freed either way


@pytest.mark.parametrize("method", METHODS)
def test_every_method_is_deterministic_whatever_came_before(method):
    pages = [page("article"), page(), ARTICLE]
    forward = _stage(method)(_batch(*pages)).column("text").to_pylist()
    backward = _stage(method)(_batch(*pages[::-1])).column("text").to_pylist()
    assert forward == backward[::-1]
    assert forward == _stage(method)(_batch(*pages)).column("text").to_pylist()


# ---------------------------------------------------------------- the cascade's rule


def test_cascade_sends_declared_articles_to_trafilatura_and_the_rest_to_resiliparse():
    stage = _stage("cascade")
    assert stage.extract_page(page("article"), "utf-8")[2] == "trafilatura"
    assert stage.extract_page(page("website"), "utf-8")[2] == "resiliparse"
    json_ld = page().replace(
        b"</head>", b'<script type="application/ld+json">{"@type": "NewsArticle"}</script></head>'
    )
    assert stage.extract_page(json_ld, "utf-8")[2] == "trafilatura"


def test_cascade_lets_trafilatura_decide_where_resiliparse_finds_few_words():
    short = page(paragraphs=PARAGRAPHS[:2])  # 40 words of text
    text, reason, via = _stage("cascade").extract_page(short, "utf-8")
    assert (reason, via) == (None, "trafilatura") and PARAGRAPHS[1] in text
    assert _stage("cascade", cascade_min_words=0).extract_page(short, "utf-8")[2] == "resiliparse"
    boilerplate_only = [r["html"] for r in _fixture_rows() if b"Forgot password?" in (r["html"] or b"")]
    assert len(boilerplate_only) == 2  # a shop's sign-in page, a news site's topic index (make_fixtures.py)
    for body in boilerplate_only:  # resiliparse keeps "Account login / Forgot password?": trafilatura says no text
        assert _stage("cascade").extract_page(body, None)[1:] == ("extract.no_text", "trafilatura")


def test_resiliparse_is_never_given_a_page_nested_deeper_than_max_depth():
    """resiliparse's main-content pass is quadratic in depth inside one C call: such a page goes to trafilatura
    (libxml2 stops at 256 levels) in the cascade, and is too complex for resiliparse alone."""
    article = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    deep = f"<html><body>{'<div>' * 300}{article}{'</div>' * 300}</body></html>".encode()
    assert _stage("cascade").extract_page(deep, "utf-8")[2] == "trafilatura"
    assert _stage("resiliparse").extract_page(deep, "utf-8")[:2] == (None, "extract.too_complex")
    text, reason, via = _stage("resiliparse", max_depth=400).extract_page(deep, "utf-8")
    assert (reason, via) == (None, "resiliparse") and PARAGRAPHS[0] in text


@pytest.mark.parametrize(
    "head, expected",
    [
        ('<meta property="og:type" content="article">', True),
        ("<meta content='article' property='og:type' />", True),
        ('<meta property="og:type" content="website">', False),
        ('<script type="application/ld+json">{"@type":"BlogPosting"}</script>', True),
        ('<script type="application/ld+json">{"@type": ["ReportageNewsArticle"]}</script>', True),
        ('<div itemscope itemtype="https://schema.org/NewsArticle">', True),
        ('<script type="application/ld+json">{"@type": "DiscussionForumPosting"}</script>', False),
        ('<script type="application/ld+json">{"@type": "Product", "name": "Article 7"}</script>', False),
        ("<p>An article about og:type and schema.org</p>", False),
    ],
)
def test_declares_article(head, expected):
    assert declares_article(f"<html><head>{head}</head><body></body></html>") is expected


def test_method_is_validated_at_config_load(tmp_path):
    body = "input: [a.warc.gz]\nstages:\n  - stage: read\n  - stage: extract\n    method: readability\n"
    with pytest.raises(ConfigError, match="stages.yaml:5.*'readability' is not one of 'trafilatura', 'resiliparse'"):
        load(write_config(tmp_path, body))
    assert load(write_config(tmp_path, body.replace("readability", "resiliparse"))).stages[1].config.method == (
        "resiliparse"
    )


# ---------------------------------------------------------------- guards and the time limit, for every method


@pytest.mark.parametrize("method", METHODS)
def test_pages_over_the_guards_are_dropped_before_any_library_sees_them(method):
    """Decided from the page (bytes, then start tags), not from a clock: the same on any CPU and under any load."""
    complex_page = b"<html><body>" + b"<p>word</p>" * 25_000 + b"</body></html>"  # 25,002 start tags, 300 KB
    stage, seen = _stage(method), []
    library = stage._method
    stage._method = lambda html: seen.append(len(html)) or library(html)
    out = stage(_batch(RUNAWAY, complex_page, ARTICLE))
    assert out.column("drop_reason").to_pylist() == ["extract.too_large", "extract.too_complex", None]
    assert seen == [len(ARTICLE)]
    # 25,002 start tags and 25,000 </p> (counted: a stray one makes an element)
    assert _stage(method, max_tags=50_002)(_batch(complex_page)).column("drop_reason").to_pylist() == [None]


@pytest.mark.parametrize("method", METHODS)
def test_runaway_page_is_stopped_at_its_time_limit_and_the_batch_goes_on(method):
    """The safety net: with the guards opened wide, a page that runs away is stopped by CPU time (at least 10x the
    limit of work in every library: resiliparse 0.5 CPU-s here); C code is stopped when it returns to Python."""
    stage = _stage(method, timeout_s=0.02, max_html_bytes=10**9, max_tags=10**9)
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


# ---------------------------------------------------------------- decoding


def test_decode_prefers_a_declaration_that_decodes_and_falls_back_when_it_lies():
    text = "Café “naïve” — résumé"
    assert decode_html(text.encode("utf-8"), "utf-8") == text
    assert decode_html(text.encode("cp1252"), "utf-8") == text  # the server lies: strict UTF-8 fails
    assert decode_html(text.encode("cp1252"), "iso-8859-1") == text  # WHATWG: latin-1 label means cp1252
    meta = b'<meta charset="windows-1251">' + "Привет".encode("cp1251")
    assert "Привет" in decode_html(meta, None)
    assert decode_html("日本語のページです".encode("utf-8"), None) == "日本語のページです"
