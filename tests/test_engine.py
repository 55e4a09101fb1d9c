"""End to end through Ray: `python -m pipeline run` with an embedded local Ray, resume and refusal."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from pipeline.config import load
from tests.conftest import FIXTURES, ROOT, shared_data

pytestmark = pytest.mark.ray


def run_cli(*args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=ROOT)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def test_run_on_real_warcs_writes_docs_samples_and_report(tmp_path):
    out = tmp_path / "out"
    data = shared_data("warc")
    result = run_cli(
        "run", "stages.yaml", "--input", str(data / "cc"), str(data / "other_crawls"), "--output", str(out)
    )
    report = json.loads((out / "report.json").read_text())
    totals = report["totals"]
    assert report["conservation"]["ok"]
    assert totals["records_read"] == totals["kept"] + sum(totals["dropped"].values()) + sum(totals["errors"].values())
    assert [s["name"] for s in report["stages"]] == [s.name for s in load(ROOT / "stages.yaml").stages]
    for stage in report["stages"]:
        assert stage["docs_in"] == stage["docs_out"] + sum(stage["dropped"].values())
        assert set(stage) >= {"name", "docs_in", "docs_out", "dropped", "bytes_in", "bytes_out", "seconds"}
    kept = pq.read_table(out / "docs")
    assert kept.num_rows == totals["kept"]
    assert {"id", "url", "date", "source", "text", "language", "language_score"} <= set(kept.column_names)
    samples = pq.read_table(out / "dropped")
    assert set(samples.column("drop_reason").to_pylist()) <= set(totals["dropped"])
    assert "Stages" in (out / "report.md").read_text()
    assert "14 input files: 0 already committed, 14 to process" in result.stdout

    again = run_cli(
        "run", "stages.yaml", "--input", str(data / "cc"), str(data / "other_crawls"), "--output", str(out)
    )
    assert "14 already committed, 0 to process" in again.stdout
    assert json.loads((out / "report.json").read_text())["totals"] == totals


def test_rerun_with_another_config_into_same_output_is_refused(tmp_path):
    out = tmp_path / "out"
    data = str(FIXTURES / "warc" / "plain.warc")  # any input: the refusal needs no real data
    run_cli("run", "stages.yaml", "--input", data, "--output", str(out))
    other = tmp_path / "other.yaml"
    other.write_text((ROOT / "stages.yaml").read_text().replace("min_score: 0.65", "min_score: 0.5"))
    result = run_cli("run", str(other), "--input", data, "--output", str(out), check=False)
    assert result.returncode == 2
    assert "different config" in result.stderr
