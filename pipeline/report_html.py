"""`report.html`: one self-contained page (plotly's JavaScript inlined, no network) that shows the run:
funnel of documents and bytes through the stages, drop reasons per stage, histograms of each stage's
signal with its threshold, time per stage, the input files, and escaped samples of dropped documents.

Rebuilt from committed files only (report.json + dropped/ samples): `python -m pipeline report OUT`, and
`python -m pipeline report OUT --compare OTHER` puts two runs side by side.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from pipeline import storage
from pipeline.registry import REGISTRY
from pipeline.stats import HISTOGRAM_BINS

SAMPLE_FILES_READ = 50  # sample files read per folder: the page's cost does not grow with the run
SAMPLES_SHOWN = 3  # per drop reason
SAMPLE_CHARS = 1200


def write_html(out: str, compare: str | None = None) -> str:
    """Render OUT/report.html (or OUT/compare.html with --compare) and return its path."""
    runs = [_run_data(out)] + ([_run_data(compare)] if compare else [])
    html = render(runs)
    fs, _ = storage.filesystem(out)
    path = storage.join(out, "compare.html" if compare else "report.html")
    storage.write_text(fs, path, html)
    return path


def render(runs: list[dict]) -> str:
    import jinja2
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)
    charts = [{k: r[k] for k in ("label", "funnel", "reasons", "histograms", "seconds")} for r in runs]
    # "</" cannot end the JSON's <script> early: page text in the data is escaped for HTML script context
    data_json = json.dumps(charts).replace("</", "<\\/")
    return env.get_template("report.html.j2").render(
        runs=runs, compare=len(runs) > 1, data_json=data_json, plotly_js=get_plotlyjs()
    )


def _run_data(out: str) -> dict:
    fs, _ = storage.filesystem(out)
    report = storage.read_json(fs, storage.join(out, "report.json"))
    stages = report["stages"]
    return {
        "label": out.rstrip("/").rsplit("/", 1)[-1] or out,
        "report": report,
        "funnel": _funnel(report),
        "reasons": [
            {"stage": s["name"], "reason": r, "count": n} for s in stages for r, n in sorted(s["dropped"].items())
        ],
        "histograms": _histograms(stages),
        "seconds": [s["seconds"] for s in stages],
        "samples": _samples(fs, out),
    }


def _funnel(report: dict) -> dict:
    stages = report["stages"]
    first = stages[0] if stages else {"docs_in": 0, "bytes_in": 0}
    return {
        "stages": ["input"] + [s["name"] for s in stages],
        "docs": [first["docs_in"]] + [s["docs_out"] for s in stages],
        "bytes": [first["bytes_in"]] + [s["bytes_out"] for s in stages],
    }


def _histograms(stages: list[dict]) -> list[dict]:
    width = 1.0 / HISTOGRAM_BINS
    centers = [round((i + 0.5) * width, 4) for i in range(HISTOGRAM_BINS)]
    charts = []
    for s in stages:
        signals = getattr(REGISTRY.get(s["name"]).impl, "signals", {}) if s["name"] in REGISTRY else {}
        for column, counts in s.get("histograms", {}).items():
            field = signals.get(column)
            threshold = s.get("config", {}).get(field) if field else None
            charts.append(
                {"stage": s["name"], "column": column, "counts": counts, "centers": centers, "threshold": threshold}
            )
    return charts


def _samples(fs, out: str) -> dict[str, list[dict]]:
    """Up to SAMPLES_SHOWN dropped documents per reason, from the committed samples of at most
    SAMPLE_FILES_READ parts per folder (dropped/ and each dedup stage's), spread evenly over the parts: a
    bounded read however many input files the run had."""
    shown: dict[str, list[dict]] = {}
    for path in _sample_files(fs, storage.join(out, "dropped")):
        table = pq.read_table(path, columns=["url", "drop_reason", "text"], filesystem=fs)
        for row in table.to_pylist():
            rows = shown.setdefault(row["drop_reason"], [])
            if len(rows) < SAMPLES_SHOWN:
                rows.append({"url": row["url"] or "", "text": (row["text"] or "")[:SAMPLE_CHARS]})
    return dict(sorted(shown.items()))


def _sample_files(fs, folder: str) -> list[str]:
    try:
        entries = fs.ls(folder, detail=True)
    except FileNotFoundError:
        return []
    files = sorted(e["name"] for e in entries if e["type"] == "file" and e["name"].endswith(".parquet"))
    step = max(1, -(-len(files) // SAMPLE_FILES_READ))
    picked = files[::step]
    for sub in sorted(e["name"] for e in entries if e["type"] == "directory"):
        picked += _sample_files(fs, sub)
    return picked
