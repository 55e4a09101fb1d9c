"""url_filter: one URL per rule, and clean URLs kept (lists: FineWeb's, shipped in filters/assets); where the
default differs from datatrove's URLFilter (scheme, case) and `datatrove_compatible: true` does not."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest

from core.batch import READ_SCHEMA
from filters import url_filter as url_filter_module
from filters.url_filter import UrlFilter, UrlFilterConfig


@pytest.fixture(scope="module")
def url_filter():
    return UrlFilter(UrlFilterConfig(extra_domains=("blocked-site.com",)))


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://en.wikipedia.org/wiki/Bread", None),
        ("https://www.bbc.co.uk/news/science", None),
        ("http://0-1avsex.com/index.html", "url_filter.domain"),  # first line of the UT1 domains list
        ("https://www.blocked-site.com/page", "url_filter.domain"),
        ("https://shop.blocked-site.com/", "url_filter.domain"),
        ("https://example.org/xxx/videos", "url_filter.banned_word"),
        ("https://example.org/XXX/videos", "url_filter.banned_word"),
        ("https://example.org/brunette-interracial-gallery", "url_filter.soft_banned_words"),
        ("https://example.org/free-bigtits-gallery", "url_filter.banned_subword"),
    ],
)
def test_each_rule(url_filter, url, reason):
    assert url_filter.judge(url) == reason


def test_batch_keeps_rows_and_marks_reasons(url_filter):
    rows = [
        {**dict.fromkeys(READ_SCHEMA.names), "doc_id": i, "url": u}
        for i, u in enumerate(["https://en.wikipedia.org/wiki/Bread", "http://0-1avsex.com/", None])
    ]
    out = url_filter(pa.Table.from_pylist(rows, schema=READ_SCHEMA))
    assert out.column("drop_reason").to_pylist() == [None, "url_filter.domain", None]


def test_missing_blocklist_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="blocklist not found"):
        UrlFilter(UrlFilterConfig(blocklist_path=str(tmp_path / "nope.tar.gz")))


# ---------------------------------------------------------------- scheme and case: default vs datatrove_compatible
@pytest.fixture(scope="module")
def compatible():
    return UrlFilter(UrlFilterConfig(datatrove_compatible=True))


# (url, our default, `datatrove_compatible: true`). The last column is what datatrove 0.10.1's URLFilter decided
# on these URLs (bench/quality/parity_url.py's datatrove side; its names: hard_blacklisted = banned_word,
# soft_blacklisted = soft_banned_words, blacklisted_subword = banned_subword).
SCHEME_AND_CASE = [
    # UT1's URL list is scheme-less: datatrove compares the full URL, so only a scheme-less URL matches it
    ("0b1-bofa.org/bofa/", "url", "url"),
    ("http://0b1-bofa.org/bofa/", "url", None),
    ("https://0b1-bofa.org/bofa/", "url", None),
    ("https://1.70.8.86/.i", "url", None),
    ("http://0B1-BOFA.ORG/bofa/", None, None),  # the URL list is case-sensitive in both modes
    # hosts: lowercased by default, as written in datatrove
    ("http://0-1avsex.com/index.html", "domain", "domain"),
    ("http://0-1AVSEX.com/index.html", "domain", None),
    ("http://WWW.0-1AVSEX.COM/", "domain", None),
    ("https://0oxjnevjd3.edal.cc/", "subdomain", "subdomain"),  # listed host; edal.cc itself is not listed
    ("https://0OXJNEVJD3.EDAL.CC/", "subdomain", None),
    ("https://www.0oxjnevjd3.edal.cc/", None, None),  # a host under a listed host is listed in neither
    # URL words: lowercased by default, as written in datatrove; subwords are case-insensitive in both
    ("https://example.com/18abused/index.html", "banned_word", "banned_word"),
    ("https://example.com/18ABUSED/index.html", "banned_word", None),
    ("https://example.org/XXX/videos", "banned_word", "banned_subword"),  # `xxx` is a banned subword too
    ("https://example.org/brunette-interracial-gallery", "soft_banned_words", "soft_banned_words"),
    ("https://example.org/Brunette-Interracial-gallery", "soft_banned_words", None),
    ("https://example.org/free-BigTits-gallery", "banned_subword", "banned_subword"),
    ("https://en.wikipedia.org/wiki/Bread", None, None),
]


def _reason(rule: str | None) -> str | None:
    return rule and f"url_filter.{rule}"


@pytest.mark.parametrize("url, default, _", SCHEME_AND_CASE)
def test_default_strips_the_scheme_and_lowercases(url_filter, url, default, _):
    assert url_filter.judge(url) == _reason(default)


@pytest.mark.parametrize("url, _, datatrove", SCHEME_AND_CASE)
def test_datatrove_compatible_decides_as_datatrove(compatible, url, _, datatrove):
    assert compatible.judge(url) == _reason(datatrove)


def _blocklist(path, domains: str, urls: str) -> str:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in (("domains", domains), ("urls", urls)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)


def test_compatible_keeps_the_case_of_listed_entries(tmp_path):
    """datatrove reads its lists (and extra domains) without lowercasing them; by default we lowercase domains."""
    lists = _blocklist(tmp_path / "lists.tar.gz", "Upper-Case.com\nlower.com\n", "Example.com/Path\n")
    default = UrlFilter(UrlFilterConfig(blocklist_path=lists, extra_domains=("Extra.org",), use_word_lists=False))
    exact = UrlFilter(replace(default.cfg, datatrove_compatible=True))
    assert [default.judge(u) for u in ("http://upper-case.com/", "http://extra.org/")] == ["url_filter.domain"] * 2
    assert exact.judge("http://upper-case.com/") is None
    assert exact.judge("http://Upper-Case.com/") == "url_filter.domain"
    assert exact.judge("http://extra.org/") is None
    assert exact.judge("http://Extra.org/") == "url_filter.domain"
    assert exact.judge("http://LOWER.com/") is None
    assert default.judge("http://Example.com/Path") == "url_filter.url"
    assert exact.judge("http://Example.com/Path") is None
    assert exact.judge("Example.com/Path") == "url_filter.url"


@pytest.mark.parametrize("as_datatrove", [False, True])
def test_blocklist_cache_holds_what_parsing_gives(tmp_path, monkeypatch, as_datatrove):
    monkeypatch.setenv("CCP_CACHE_DIR", str(tmp_path))
    tarball = url_filter_module.LISTS / url_filter_module._TARBALL
    domains, urls = url_filter_module._parse_blocklist(tarball, as_datatrove)
    first = url_filter_module._load_blocklist(tarball, as_datatrove)  # parses, writes the cache
    (cache,) = (tmp_path / "url_filter").iterdir()
    second = url_filter_module._load_blocklist(tarball, as_datatrove)  # reads it
    cache.write_bytes(b"not an npz")  # a broken cache is parsed again and rewritten
    third = url_filter_module._load_blocklist(tarball, as_datatrove)
    for got_domains, got_urls in (first, second, third):
        assert np.array_equal(got_domains, domains) and got_urls == urls
    assert np.array_equal(url_filter_module._read_cache(cache)[0], domains)
    assert [p.name for p in (tmp_path / "url_filter").iterdir()] == [cache.name]  # no temporary file left


def test_an_unwritable_cache_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("CCP_CACHE_DIR", str(tmp_path / "file"))  # its folder cannot be made
    assert len(UrlFilter(UrlFilterConfig()).domains) > 4_000_000
