"""line_dedup (CCNet): lines repeated within a group of files are removed; short leftovers dropped with
their own reason; groups are independent; keep_first keeps the smallest doc_id's copy."""

from __future__ import annotations

import pyarrow.parquet as pq

from dedup.line_dedup import LineDedup, LineDedupConfig, normalize_line
from tests.test_dedup_exact import _write_parts, run_stage

BODY = " ".join(["word"] * 60)
NAV = "Home | About us | Contact 2024"
TEXTS = [
    [f"{NAV}\nFirst article. {BODY}", f"Second article. {BODY}\nHOME  ABOUT US  CONTACT 1999"],
    [f"{NAV}\nThird article. {BODY}", "Short page\n" + NAV],
]


def _texts(tmp_path):
    return {r["doc_id"]: r["text"] for r in pq.read_table(tmp_path / "out" / "docs").to_pylist()}


def test_ccnet_normalization():
    assert normalize_line("  Home | About us | Contact 2024 ") == normalize_line("HOME  ABOUT US  CONTACT 1999") != ""
    assert normalize_line("¡Hola, señor!") == "hola señor"


def test_repeated_lines_are_removed_and_short_leftovers_dropped(tmp_path):
    parts = _write_parts(tmp_path, TEXTS)
    _, results = run_stage(tmp_path, LineDedup(LineDedupConfig(min_words=10)), parts, name="line_dedup")
    texts = _texts(tmp_path)
    assert texts[0] == f"First article. {BODY}"
    assert texts[1] == f"Second article. {BODY}"
    assert texts[1 << 32] == f"Third article. {BODY}"
    assert (1 << 32) + 1 not in texts  # "Short page" is all that is left
    assert results[0][1]["dropped"] == {"line_dedup.too_short": 1}


def test_groups_are_deduplicated_independently(tmp_path):
    texts = [[f"{NAV}\nFirst article. {BODY}", f"Second article. {BODY}"], [f"{NAV}\nThird article. {BODY}"]]
    run_stage(
        tmp_path / "pairs", LineDedup(LineDedupConfig(min_words=10)), _write_parts(tmp_path, texts), "line_dedup"
    )
    assert not any(t.startswith(NAV) for t in _texts(tmp_path / "pairs").values())
    run_stage(
        tmp_path / "single",
        LineDedup(LineDedupConfig(files_per_group=1, min_words=10)),
        _write_parts(tmp_path, texts),
        "line_dedup",
    )
    assert all(t.startswith(NAV) for i, t in _texts(tmp_path / "single").items() if i != 1)


def test_keep_first_keeps_the_smallest_doc_id_copy(tmp_path):
    parts = _write_parts(tmp_path, TEXTS)
    run_stage(tmp_path, LineDedup(LineDedupConfig(keep_first=True, min_words=10)), parts, name="line_dedup")
    texts = _texts(tmp_path)
    assert texts[0].startswith(NAV)
    assert not texts[1].endswith("1999") and not texts[1 << 32].startswith(NAV)
