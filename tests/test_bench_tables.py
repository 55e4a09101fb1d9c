"""`python -m bench.tables`: a marked table is rendered again from its JSON result; one whose JSON is absent is left as
it is, and so is every unmarked line."""

from __future__ import annotations

import json

import pytest

from bench import tables

DOC = """# Benchmarks

Cost on crawl pages:

<!-- table: extraction_crawl_cost -->

| an | old | table |
|---|---|---|
| 1 | 2 | 3 |

<!-- /table -->

URL parity (no JSON for it in this folder):

<!-- table: parity_url -->

| URLs | n |
|---|---:|
| hand-written | 1 |

<!-- /table -->

| an unmarked | table |
|---|---|
| stays | as it is |
"""
CRAWL = {
    "crawl": {
        "crawl pages (../shared/data/warc)": {
            method: {
                "pages": 3,
                "P": 0,
                "R": 0,
                "F1": 0,
                "empty_with_content": 1 / 3,
                "cpu_ms": ms,
                "via_trafilatura": v,
            }
            for method, ms, v in (
                ("trafilatura (FineWeb)", 45.12, 1.0),
                ("trafilatura, favor_precision off", 50.0, 1.0),
                ("resiliparse", 2.97, 0.0),
                ("resiliparse, DCLM's call", 4.2, 0.0),
                ("cascade", 7.0, 0.333),
                ("cascade, favor_precision off", 8.6, 0.333),  # in the JSON, not in the document's table
            )
        }
    }
}
EXPECTED = """<!-- table: extraction_crawl_cost -->

| group | method | pages | empty | CPU-ms/page | via trafilatura |
|---|---|---|---|---|---|
| crawl pages (../shared/data/warc) | trafilatura (FineWeb) | 3 | 33.3% | 45.1 | 100% |
| crawl pages (../shared/data/warc) | trafilatura, favor_precision off | 3 | 33.3% | 50.0 | 100% |
| crawl pages (../shared/data/warc) | resiliparse | 3 | 33.3% | 3.0 | 0% |
| crawl pages (../shared/data/warc) | resiliparse, DCLM's call | 3 | 33.3% | 4.2 | 0% |
| crawl pages (../shared/data/warc) | cascade | 3 | 33.3% | 7.0 | 33% |

<!-- /table -->"""


def test_a_marked_table_is_rendered_from_its_json_and_an_absent_one_is_left_alone(tmp_path, capsys):
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text(DOC)
    (tmp_path / "eval_extraction_all.json").write_text(json.dumps(CRAWL))
    assert tables.main(["--doc", str(doc), "--out", str(tmp_path), "--check"]) == 1
    assert doc.read_text() == DOC  # --check writes nothing
    assert tables.main(["--doc", str(doc), "--out", str(tmp_path)]) == 0
    new = doc.read_text()
    assert EXPECTED in new
    assert "| an | old | table |" not in new
    untouched = DOC[DOC.index("URL parity") :]
    assert new.endswith(untouched)  # the table without JSON, and the unmarked table, as they were
    assert new.startswith("# Benchmarks\n\nCost on crawl pages:\n\n")
    out = capsys.readouterr().out
    assert "extraction_crawl_cost: regenerated" in out
    assert f"parity_url: {tmp_path / 'parity_url.json'} is absent; table left as it is" in out
    assert tables.main(["--doc", str(doc), "--out", str(tmp_path), "--check"]) == 0  # now up to date


def test_an_unknown_table_name_is_an_error(tmp_path):
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("<!-- table: no_such_table -->\n\n| a |\n|---|\n\n<!-- /table -->\n")
    with pytest.raises(SystemExit, match="no_such_table -->: no such table"):
        tables.main(["--doc", str(doc), "--out", str(tmp_path)])


def test_every_table_marked_in_benchmarks_md_has_a_renderer():
    text = (tables.REPO / "BENCHMARKS.md").read_text()
    marked = [m["name"] for m in tables.MARKED.finditer(text)]
    assert marked and set(marked) <= set(tables.TABLES)
    assert text.count("<!-- table: ") == text.count("<!-- /table -->") == len(marked)
