"""The nasty-input corpus (fixtures/make_bad_inputs.py): each bad record or file is counted under a named
error or drop reason, the run goes on, and the clean articles around it are kept as in a clean file."""

from __future__ import annotations

import os
import sys

import pytest

from pipeline.config import load
from pipeline.filepass import process_file
from tests.conftest import FIXTURES, ROOT

sys.path.insert(0, str(FIXTURES))
from make_bad_inputs import write_all  # noqa: E402

# file -> (records read, documents kept, dropped, errors); the two clean articles are always among the kept
EXPECTED = {
    "truncated_mid.warc.gz": (3, 2, {}, {"read.truncated": 1}),  # the member after the cut is read again
    "not_gzip.warc.gz": (2, 2, {}, {}),
    "binary_as_html.warc.gz": (3, 2, {"read.binary": 1}, {}),
    "huge_page.warc.gz": (3, 2, {"read.too_large": 1}, {}),
    "nested.warc.gz": (3, 2, {"extract.too_complex": 1}, {}),  # 50,000 start tags: dropped before trafilatura
    "lying_charset.warc.gz": (4, 4, {}, {}),
    "wrong_length.warc.gz": (3, 2, {}, {"read.bad_length": 1}),  # its block would swallow the next record
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    files = write_all(folder / "in")
    config = load(ROOT / "stages.yaml").with_overrides(output=str(folder / "out"))
    return {os.path.basename(f): process_file(i, str(f), config) for i, f in enumerate(files)}, folder


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_record_is_counted_and_the_rest_of_the_file_kept(results, name):
    stats = results[0][name]
    assert (stats["records_read"], stats["kept"], stats["dropped"], stats["errors"]) == EXPECTED[name]
    assert stats["status"] == "ok"


@pytest.mark.parametrize("name", ["empty.warc.gz", "not_a_warc.warc.gz"])
def test_a_file_that_is_not_a_warc_is_a_file_error_with_a_message(results, name):
    stats = results[0][name]
    assert stats["status"] == "error" and "not a WARC" in stats["message"] and stats["records_read"] == 0


def test_kept_articles_are_the_clean_ones(results):
    import pyarrow.parquet as pq

    stats, folder = results
    texts = pq.read_table(folder / "out" / "work" / "filtered").column("text").to_pylist()
    assert sum("raised bed" in t.lower() for t in texts) >= len(EXPECTED)  # the gardening article of each file
    assert any("végétable" in t for t in texts)  # latin-1 served as utf-8, decoded right
    assert any("yëast" in t for t in texts)  # utf-8 served as shift_jis, decoded right
