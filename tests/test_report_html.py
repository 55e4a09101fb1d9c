"""report.html: self-contained, rebuilt by `pipeline report`, page text escaped, chart data that matches
report.json (each stage's seconds on that stage), and its charts really render in a headless browser
(Debian's chromium; those tests skip, saying so, where it is not installed)."""

from __future__ import annotations

import datetime
import html
import json
import re
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.batch import SAMPLE_SCHEMA
from pipeline.report_html import palette, reason_colours, write_html
from tests.conftest import ROOT

pytestmark = pytest.mark.ray

RECIPE = """\
input: [fixtures/warc/*.warc.gz]
stages:
  - stage: read
  - stage: extract
  - stage: language
  - stage: exact_dedup
  - stage: tokenize
"""
HOSTILE = "<script>alert('pwned')</script><img src=x onerror=alert(1)>"
# distinct, as in issue 13: extract's 525 s was drawn on the stage after it
SECONDS = {"read": 3.0, "extract": 525.0, "language": 12.5, "exact_dedup": 40.0, "tokenize": 7.25}


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


@pytest.fixture(scope="module")
def timed(out, tmp_path_factory):
    """A copy of the run whose report.json says each stage took a different time (and some files were
    unreadable or failed), rendered from that report.json as is."""
    copy = tmp_path_factory.mktemp("timed") / "timed"
    shutil.copytree(out, copy)
    report = json.loads((copy / "report.json").read_text())
    for stage in report["stages"]:
        stage["seconds"] = SECONDS[stage["name"]]
    report["totals"].update(files=7, files_unreadable=1, files_failed=2)
    (copy / "report.json").write_text(json.dumps(report))
    write_html(str(copy))
    return copy


def chart_data(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1))


def test_report_is_self_contained_and_escapes_page_text(out):
    page = (out / "report.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc=|<link[^>]*\bhref=", page)  # nothing loaded from elsewhere
    assert HOSTILE not in page and "&lt;script&gt;alert(" in page
    assert 'href="javascript:' not in page
    report = json.loads((out / "report.json").read_text())
    assert report["stages"][2]["config"]["min_score"] == 0.65  # thresholds travel with the report


@pytest.mark.parametrize("name", ["out", "timed"])
def test_time_chart_puts_each_stage_seconds_on_that_stage(name, request):
    folder = request.getfixturevalue(name)
    report = json.loads((folder / "report.json").read_text())
    time = chart_data((folder / "report.html").read_text())["runs"][0]["time"]
    expected = [(s["name"], s["seconds"]) for s in report["stages"]]
    assert list(zip(time["stages"], time["seconds"], strict=True)) == expected
    assert time["text"] == [f"{s:,.2f} s" for _, s in expected]
    if name == "timed":
        assert time["seconds"][time["stages"].index("extract")] == 525.0


def test_funnels_match_report_json(out):
    report = json.loads((out / "report.json").read_text())
    data = chart_data((out / "report.html").read_text())["runs"][0]
    stages = report["stages"]
    assert data["funnel"]["stages"] == ["input"] + [s["name"] for s in stages]
    assert data["funnel"]["docs"] == [stages[0]["docs_in"]] + [s["docs_out"] for s in stages]
    assert data["funnel"]["docs_text"][0] == f"{stages[0]['docs_in']:,} (100.0%)"
    manifest = json.loads((out / "tokens" / "manifest.json").read_text())
    t = report["totals"]
    assert manifest["tokens"] == t["tokens"] > 0
    assert data["tokens"]["values"] == [t["records_read"], t["kept"], manifest["documents"], manifest["tokens"]]


def test_reason_colours_are_distinct_and_shared_by_both_runs():
    assert len(set(palette(120))) == 120 and palette(120) == palette(120)
    runs = [
        {"reasons": [{"reason": f"s.r{i}"} for i in range(40)]},
        {"reasons": [{"reason": "s.r3"}, {"reason": "t.only_here"}]},
    ]
    colours = reason_colours(runs)
    assert len(colours) == 41 and len(set(colours.values())) == 41  # one map for both runs: s.r3 has one colour


def test_page_shows_files_run_times_config_and_dropped_languages(out, timed):
    page = (timed / "report.html").read_text()
    card = re.search(r'id="files0">(.*?)</div>', page, re.S).group(1)
    assert [int(n) for n in re.findall(r"(?:committed|unreadable|failed) (\d+)", card)] == [5, 1, 2]
    started = datetime.datetime.fromtimestamp((out / "run.json").stat().st_mtime, datetime.timezone.utc)
    assert started.strftime("%Y-%m-%d %H:%M:%S UTC") in re.search(r'id="started0">(.*?)</div>', page, re.S).group(1)
    report = json.loads((out / "report.json").read_text())
    config = page[page.index('<table class="config">') :]
    shown = re.findall(r"<td>(\w+)</td>\s*<td[^>]*><code>(.*?)</code>", config[: config.index("</table>")], re.S)
    expected = [(k, json.dumps(v)) for s in report["stages"] for k, v in sorted(s["config"].items())]
    assert [(k, html.unescape(v)) for k, v in shown] == expected
    languages = page[page.index('<table class="languages">') :]
    rows = re.findall(r"<tr><td>(\w+)</td>.*?(\d+)</td></tr>", languages[: languages.index("</table>")], re.S)
    language = next(s for s in report["stages"] if s["name"] == "language")
    assert sorted(lang for lang, _ in rows) == ["de", "fr", "zh"]  # mixed.warc.gz's French, German, Chinese pages
    assert sum(int(n) for _, n in rows) == sum(language["dropped"].values())
    assert "does not record the language of a dropped document" in page


def test_compare_prints_the_differences_and_both_runs_have_legends(out, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(out, other)
    report = json.loads((other / "report.json").read_text())
    language = next(s for s in report["stages"] if s["name"] == "language")
    language.update(docs_out=language["docs_out"] - 2, dropped={"language.low_score": 5})
    language["config"]["min_score"] = 0.5
    report["totals"]["dropped"] = {"language.low_score": 5}
    (other / "report.json").write_text(json.dumps(report))
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "report", str(out), "--compare", str(other)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    row = next(line.split() for line in lines if line.startswith("language "))
    n_out = str(language["docs_out"] + 2)
    assert row[4:7] == [n_out, str(language["docs_out"]), "-2"]  # docs out: A, B, B - A
    only_a = lines[lines.index("drop reasons only in A:") + 1]
    assert only_a.startswith("  exact_dedup.duplicate:") and "  language.low_score: 5" in lines
    assert "  language.min_score: A 0.65, B 0.5" in lines
    page = (out / "compare.html").read_text()
    assert "compared with other" in page and 'id="reasons0"' in page and 'id="reasons1"' in page
    data = chart_data(page)
    assert [r["label"] for r in data["runs"]] == ["out", "other"]
    assert "language.low_score" in data["colours"] and "language.other_language" in data["colours"]
    assert re.search(r'<td>min_score</td><td class="diff">', page)


def render_in_browser(page) -> subprocess.CompletedProcess:
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
    return subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)


def test_charts_render_in_a_headless_browser(out):
    result = render_in_browser(out / "report.html")
    dom = result.stdout
    # funnels (3), reasons, histograms (language_score), time: each plotly chart draws a "main-svg"
    assert dom.count('class="main-svg"') >= 6, result.stderr[-2000:]
    assert "language_score" in dom and "exact_dedup" in dom


def test_rendered_time_chart_draws_each_stage_seconds_on_its_label(timed):
    """After plotly ran: each y-axis label of the time chart has, on its row, the bar whose text is that
    stage's seconds from report.json, and the bar's length is in proportion to them."""
    result = render_in_browser(timed / "report.html")
    dom = result.stdout
    start = dom.find('id="time"')
    assert start >= 0 and 'class="main-svg"' in dom[start:], result.stderr[-2000:]
    chart = dom[start : dom.index("<h2>", start)]
    top = float(re.search(r'<g class="xy" transform="translate\([\d.]+,([\d.]+)\)"', chart).group(1))
    labels = {
        m.group(1): float(m.group(2))
        for m in re.finditer(
            r'<g class="ytick"><text [^>]*data-unformatted="([^"]+)"[^>]*translate\(0,([\d.]+)\)', chart
        )
    }
    bars = []  # (vertical centre on the page's svg, length, text)
    for m in re.finditer(
        r'<g class="point"><path d="M0,([\d.]+)V([\d.]+)H([\d.]+)V.*?data-unformatted="([^"]+)"', chart
    ):
        bars.append((top + (float(m.group(1)) + float(m.group(2))) / 2, float(m.group(3)), m.group(4)))
    report = json.loads((timed / "report.json").read_text())
    assert sorted(labels) == sorted(s["name"] for s in report["stages"])
    longest = max(length for _, length, _ in bars)
    for stage in report["stages"]:
        on_row = [b for b in bars if abs(b[0] - labels[stage["name"]]) < 2]
        assert [text for _, _, text in on_row] == [f"{stage['seconds']:,.2f} s"], stage["name"]
        assert on_row[0][1] / longest == pytest.approx(stage["seconds"] / max(SECONDS.values()), abs=0.01)
