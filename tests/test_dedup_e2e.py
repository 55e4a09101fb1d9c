"""The dedup stages end to end through Ray on the fixtures: exact mirror and near-duplicates removed, the
counts add up per file, and 1 or 2 workers give byte-identical documents, token shards and manifest."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.ray

RECIPE = """\
input: [fixtures/warc/*.warc.gz, fixtures/warc/*.warc, fixtures/wet/*.wet.gz]
stages:
  - stage: read
  - stage: extract
  - stage: language
  - stage: exact_dedup
    partitions: 3
  - stage: minhash_dedup
    partitions: 4
    cc_partitions: 3
  - stage: line_dedup
  - stage: tokenize
    shard_tokens: 2000
    buckets: 3
"""


def _run(tmp_path, name: str, cpus: int):
    config = tmp_path / "dedup.yaml"
    config.write_text(RECIPE)
    out = tmp_path / name
    cmd = [sys.executable, "-m", "pipeline", "run", str(config), "--output", str(out), "--num-cpus", str(cpus)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_dedup_stages_remove_the_fixture_duplicates_identically_with_1_or_2_workers(tmp_path):
    one, two = _run(tmp_path, "one", 1), _run(tmp_path, "two", 2)
    report = json.loads((one / "report.json").read_text())
    assert report["conservation"]["ok"]
    dropped = report["totals"]["dropped"]
    assert dropped["exact_dedup.duplicate"] == 1  # the gardening mirror
    assert dropped["minhash_dedup.duplicate"] == 2  # the edited rail article and the bread reprint
    stages = {s["name"]: s for s in report["stages"]}
    assert stages["line_dedup"]["docs_in"] == stages["minhash_dedup"]["docs_out"]
    texts = pq.read_table(one / "docs").column("text").to_pylist()
    assert len(texts) == report["totals"]["kept"] == len(set(texts))
    for folder in ("docs", "tokens/shards"):
        names = sorted(p.name for p in (one / folder).iterdir())
        assert names and names == sorted(p.name for p in (two / folder).iterdir())
        for name in names:
            assert (one / folder / name).read_bytes() == (two / folder / name).read_bytes(), name
    assert (one / "tokens" / "manifest.json").read_bytes() == (two / "tokens" / "manifest.json").read_bytes()
