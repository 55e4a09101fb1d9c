"""report.html: self-contained, rebuilt by `pipeline report`, page text escaped, and its charts really
render in a headless browser (Debian's chromium; the test skips, saying so, where it is not installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.filepass import SAMPLE_SCHEMA
from tests.conftest import ROOT

pytestmark = pytest.mark.ray

RECIPE = """\
input: [fixtures/warc/*.warc.gz]
stages:
  - stage: read
  - stage: extract
  - stage: language
  - stage: exact_dedup
"""
HOSTILE = "<script>alert('pwned')</script><img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    (folder / "stages.yaml").write_text(RECIPE)
    out = folder / "out"
    cmd = [sys.executable, "-m", "pipeline", "run", str(folder / "stages.yaml"), "--output", str(out)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    row = {
        "doc_id": 1,
        "id": "x",
        "url": "javascript:alert(1)",
        "source": "s",
        "drop_reason": "zz.hostile",
        "text": HOSTILE,
    }
    pq.write_table(pa.Table.from_pylist([row], schema=SAMPLE_SCHEMA), out / "dropped" / "zz-hostile.parquet")
    rebuilt = subprocess.run([sys.executable, "-m", "pipeline", "report", str(out)], cwd=ROOT, capture_output=True)
    assert rebuilt.returncode == 0, rebuilt.stderr
    return out


def test_report_is_self_contained_and_escapes_page_text(out):
    html = (out / "report.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc=|<link[^>]*\bhref=", html)  # nothing loaded from elsewhere
    assert HOSTILE not in html and "&lt;script&gt;alert(" in html
    assert 'href="javascript:' not in html
    report = json.loads((out / "report.json").read_text())
    assert report["stages"][2]["config"]["min_score"] == 0.65  # thresholds travel with the report


def test_compare_mode_writes_both_runs(out, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(out, other)
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "report", str(out), "--compare", str(other)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    html = (out / "compare.html").read_text()
    assert "compared with other" in html


def test_charts_render_in_a_headless_browser(out):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (scripts/test.sh installs Debian's chromium where apt works)")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--virtual-time-budget=5000",
    ]
    result = subprocess.run(
        [browser, *flags, "--dump-dom", (out / "report.html").as_uri()], capture_output=True, text=True, timeout=120
    )
    dom = result.stdout
    # funnels (2), reasons, one histogram (language_score), time: each plotly chart draws a "main-svg"
    assert dom.count('class="main-svg"') >= 5, result.stderr[-2000:]
    assert "language_score" in dom and "exact_dedup" in dom
