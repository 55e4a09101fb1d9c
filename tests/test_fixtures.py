"""Exact counts per reason on the generated fixtures (fixtures/make_fixtures.py says what each record is)."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from core.registry import REGISTRY
from pipeline.config import load
from pipeline.filepass import process_file
from tests.conftest import FIXTURES, ROOT

EXPECTED = {
    "warc/mixed.warc.gz": dict(
        records_read=15,
        kept=7,
        dropped={
            "read.not_html": 1,
            "read.http_status": 1,
            "read.empty": 1,
            "language_prepass.other_language": 3,  # French, German, Spanish: skipped before extraction
            "extract.no_text": 2,
        },
        errors={},
    ),
    "warc/large_page.warc.gz": dict(records_read=2, kept=1, dropped={"read.too_large": 1}, errors={}),
    "warc/truncated.warc.gz": dict(records_read=4, kept=3, dropped={}, errors={"read.truncated": 1}),
    "warc/plain.warc": dict(records_read=2, kept=2, dropped={}, errors={}),
    "wet/sample.warc.wet.gz": dict(records_read=3, kept=2, dropped={"language.other_language": 1}, errors={}),
    # dedup cases: kept by the per-document stages; the dedup stages remove them (tests/test_dedup_e2e.py)
    "warc/duplicates.warc.gz": dict(records_read=3, kept=3, dropped={}, errors={}),
}


@pytest.fixture
def config(tmp_path):
    for sub in ("docs", "dropped", "stats"):
        os.makedirs(tmp_path / "out" / sub)
    return load(ROOT / "stages.yaml").with_overrides(output=str(tmp_path / "out"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_counts_per_reason(config, name):
    stats = process_file(0, str(FIXTURES / name), config)
    got = {k: stats[k] for k in ("records_read", "kept", "dropped", "errors")}
    assert got == EXPECTED[name]
    assert stats["status"] == "ok"


def test_every_drop_reason_is_one_its_stage_declares(config):
    """What the report counts is what the stage's contract lists (core/contracts.py), on every fixture."""
    reasons = set()
    for index, name in enumerate(sorted(EXPECTED)):
        reasons |= set(process_file(index, str(FIXTURES / name), config)["dropped"])
    assert len(reasons) >= 5, reasons
    for reason in reasons:
        stage, rule = reason.split(".", 1)
        assert rule in REGISTRY.get(stage).contract.drop_reasons, reason


def test_mislabelled_charset_page_is_decoded_correctly(config):
    process_file(0, str(FIXTURES / "warc/mixed.warc.gz"), config)
    texts = pq.read_table(os.path.join(config.options.output, config.per_file_docs_folder)).column("text").to_pylist()
    cafe = [t for t in texts if "café" in t]
    assert len(cafe) == 1
    for word in ("naïve", "résumé", "“", "—"):
        assert word in cafe[0]


def test_kept_documents_carry_ids_urls_and_language(config):
    process_file(3, str(FIXTURES / "warc/plain.warc"), config)
    table = pq.read_table(os.path.join(config.options.output, config.per_file_docs_folder))
    assert table.column("doc_id").to_pylist() == [3 << 32, (3 << 32) + 1]
    assert all(i.startswith("<urn:uuid:") for i in table.column("id").to_pylist())
    assert all(u.startswith("http") for u in table.column("url").to_pylist())
    assert set(table.column("language").to_pylist()) == {"en"}
    assert min(table.column("language_score").to_pylist()) >= 0.65


def test_dropped_samples_carry_their_reason(config):
    process_file(0, str(FIXTURES / "warc/mixed.warc.gz"), config)
    samples = pq.read_table(os.path.join(config.options.output, "dropped")).to_pylist()
    reasons = sorted(s["drop_reason"] for s in samples)
    assert reasons == sorted(
        ["read.not_html", "read.http_status", "read.empty"]
        + ["extract.no_text"] * 2
        + ["language_prepass.other_language"] * 3
    )
    reason = "language_prepass.other_language"  # its sample shows the text the pre-pass judged
    french = [s for s in samples if s["drop_reason"] == reason and "Midi" in (s["text"] or "")]
    assert french


def test_fixture_script_regenerates_identical_files(tmp_path):
    subprocess.run([sys.executable, str(FIXTURES / "make_fixtures.py"), "--out", str(tmp_path)], check=True)
    for name in EXPECTED:
        assert filecmp.cmp(tmp_path / name, FIXTURES / name, shallow=False), name
