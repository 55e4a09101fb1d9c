"""url_filter: one URL per rule, and clean URLs kept (lists: FineWeb's, shipped in filters/assets)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from filters.url_filter import UrlFilter, UrlFilterConfig
from pipeline.batch import READ_SCHEMA


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
