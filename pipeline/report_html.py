"""`report.html`: one self-contained page (plotly's JavaScript inlined, no network) that shows the run:
when it ran and for how long, documents, bytes and tokens through the stages, drop reasons per stage,
histograms of each stage's signal with its threshold, time per stage, the languages the language stage
dropped, the config, the input files, and escaped samples of dropped documents.

Rebuilt from committed files only (report.json + dropped/ samples): `python -m pipeline report OUT`, and
`python -m pipeline report OUT --compare OTHER` puts two runs side by side (compare.html).
"""

from __future__ import annotations

import collections
import datetime
import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from core import storage
from core.registry import REGISTRY
from core.stats import HISTOGRAM_BINS

SAMPLE_FILES_READ = 50  # sample files read per folder: the page's cost does not grow with the run
SAMPLES_SHOWN = 3  # per drop reason
SAMPLE_CHARS = 1200
GOLDEN_ANGLE = 137.508  # degrees: successive hues past the palette never land near each other or repeat


def write_html(out: str, compare: str | None = None) -> str:
    """Render OUT/report.html (or OUT/compare.html with --compare) and return its path."""
    runs = [run_data(out)] + ([run_data(compare)] if compare else [])
    if compare and runs[0]["label"] == runs[1]["label"]:  # two folders both named out: name them in full
        runs[0]["label"], runs[1]["label"] = out, compare
    html = render(runs)
    fs, _ = storage.filesystem(out)
    path = storage.join(out, "compare.html" if compare else "report.html")
    storage.write_text(fs, path, html)
    return path


def render(runs: list[dict]) -> str:
    """The page. Chart data goes in as one JSON block through jinja's `tojson`, which escapes it for an
    HTML script (page text such as URLs and reasons is in it); the colours are chosen once for the whole
    page so that a reason has one colour in every chart and in both runs of a compare."""
    import jinja2
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)
    keys = ("label", "funnel", "reasons", "histograms", "time", "tokens")
    data = {"runs": [{k: r[k] for k in keys} for r in runs], "colours": reason_colours(runs)}
    return env.get_template("report.html.j2").render(
        runs=runs, compare=len(runs) > 1, data=data, config_diffs=_config_diffs(runs), plotly_js=get_plotlyjs()
    )


def run_data(out: str) -> dict:
    """Everything the page shows about one run, read from its output folder."""
    fs, _ = storage.filesystem(out)
    report = storage.read_json(fs, storage.join(out, "report.json"))
    stages = report["stages"]
    rows = _sample_rows(fs, out)
    return {
        "label": out.rstrip("/").rsplit("/", 1)[-1] or out,
        "report": report,
        "funnel": _funnel(report),
        "reasons": [
            {"stage": s["name"], "reason": r, "count": n} for s in stages for r, n in sorted(s["dropped"].items())
        ],
        "histograms": _histograms(stages),
        "time": _time(stages),
        "tokens": _tokens(fs, out, report),
        "when": run_times(fs, out, report),
        "languages": _dropped_languages(stages, rows),
        "config": [{"stage": s["name"], "items": _config_items(s.get("config", {}))} for s in stages],
        "samples": _samples(rows),
    }


def _funnel(report: dict) -> dict:
    """Documents and bytes after each stage, with their count and share of the input as the bar's text:
    bars with text stay readable where a funnel's thin bottom segments did not."""
    stages = report["stages"]
    first = stages[0] if stages else {"docs_in": 0, "bytes_in": 0}
    funnel = {"stages": ["input"] + [s["name"] for s in stages]}
    for field in ("docs", "bytes"):
        values = [first[f"{field}_in"]] + [s[f"{field}_out"] for s in stages]
        funnel[field] = values
        funnel[f"{field}_text"] = [f"{v:,} ({_pct(v, values[0])})" for v in values]
    return funnel


def _time(stages: list[dict]) -> dict:
    """Seconds per stage with the stage's own name: a label list built separately from the values (the
    funnel's, which starts at 'input') once put every stage's time on the stage after it."""
    return {
        "stages": [s["name"] for s in stages],
        "seconds": [s["seconds"] for s in stages],
        "text": [f"{s['seconds']:,.2f} s" for s in stages],
    }


def _tokens(fs, out: str, report: dict) -> dict | None:
    """From documents to tokens: records read, documents kept, documents tokenized, tokens. The tokens
    manifest (written last, checked by `tokens verify`) is preferred; without one, the tokenize stage's
    counters. None when the run has no tokenize stage."""
    stage = next((s for s in report["stages"] if s["name"] == "tokenize"), None)
    if stage is None:
        return None
    try:
        manifest = storage.read_json(fs, storage.join(out, "tokens", "manifest.json"))
        docs, tokens, source = manifest["documents"], manifest["tokens"], "tokens/manifest.json"
    except FileNotFoundError:
        docs, tokens, source = stage["docs_out"], stage["tokens"], "the tokenize stage's counters"
    t = report["totals"]
    values = [t["records_read"], t["kept"], docs, tokens]
    text = [f"{v:,}" for v in values]
    text[-1] += f" ({tokens / docs:,.0f} per document)" if docs else ""
    steps = ["records read", "documents kept", "documents tokenized", "tokens"]
    return {"steps": steps, "values": values, "text": text, "source": source}


def reason_colours(runs: list[dict]) -> dict[str, str]:
    """One colour per drop reason for the whole page (every chart, both runs): reasons in stage order of
    the first run, then any only the other run has, each taking the next palette colour."""
    reasons = list(dict.fromkeys(t["reason"] for r in runs for t in r["reasons"]))
    return dict(zip(reasons, palette(len(reasons))))


def palette(n: int) -> list[str]:
    """n distinct colours: D3's 10, then plotly's Dark24 and Light24 (58 distinct), then golden-angle hues
    at two lightnesses: deterministic, and no colour repeats."""
    from plotly.colors import qualitative

    base = [c.lower() for c in qualitative.D3 + qualitative.Dark24 + qualitative.Light24]
    extra = [f"hsl({i * GOLDEN_ANGLE % 360:.1f},70%,{40 + 20 * (i % 2)}%)" for i in range(max(0, n - len(base)))]
    return (base + extra)[:n]


def _histograms(stages: list[dict]) -> list[dict]:
    width = 1.0 / HISTOGRAM_BINS
    centers = [round((i + 0.5) * width, 4) for i in range(HISTOGRAM_BINS)]
    charts = []
    for s in stages:
        contract = REGISTRY.get(s["name"]).contract if s["name"] in REGISTRY else None
        signals = {signal.column: signal for signal in (contract.signals if contract else ())}
        for column, counts in s.get("histograms", {}).items():
            signal = signals.get(column)
            threshold = signal.threshold_of(s.get("config", {})) if signal else None
            charts.append(
                {"stage": s["name"], "column": column, "counts": counts, "centers": centers, "threshold": threshold}
            )
    return charts


def run_times(fs, out: str, report: dict) -> dict:
    """When the run started and when its last output was committed. Neither is written in any file's
    content, so they come from modification times: run.json is written once, when the run first starts;
    each input file's stats, each corpus stage's timing.json and tokens/manifest.json as that work commits.
    A resumed run's span includes the time between its attempts; `task_seconds` (summed over tasks, wall
    time for the dedup stages) does not."""
    started = _mtime(fs, storage.join(out, "run.json"))
    ends = [_entry_mtime(e) for e in _listing(fs, storage.join(out, "stats"))]
    ends += [_mtime(fs, storage.join(out, "work", s["name"], "timing.json")) for s in report["stages"]]
    ends += [_mtime(fs, storage.join(out, "tokens", "manifest.json"))]
    finished = max((t for t in ends if t is not None), default=None)
    span = finished - started if started is not None and finished is not None else None
    return {
        "started": _utc(started),
        "finished": _utc(finished),
        "span": _duration(span),
        "task_seconds": _duration(sum(s["seconds"] for s in report["stages"])),
    }


def _mtime(fs, path: str) -> float | None:
    try:
        return _entry_mtime(fs.info(path))
    except FileNotFoundError:
        return None


def _entry_mtime(entry: dict) -> float | None:
    """A listing entry's modification time as a Unix time: local files give `mtime`, S3 `LastModified`."""
    value = entry.get("mtime", entry.get("LastModified"))
    return value.timestamp() if isinstance(value, datetime.datetime) else value


def _utc(t: float | None) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if t else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def _config_items(config: dict) -> list[tuple[str, str]]:
    """Each config key with its value written as in report.json (JSON), for the page's config table."""
    return [(key, json.dumps(value)) for key, value in sorted(config.items())]


def _config_diffs(runs: list[dict]) -> set[str]:
    """`stage.key` of every config value that differs between the two runs of a compare (marked on the page)."""
    if len(runs) < 2:
        return set()
    a, b = ({f"{c['stage']}.{k}": v for c in r["config"] for k, v in c["items"]} for r in runs[:2])
    return {key for key in a.keys() | b.keys() if a.get(key) != b.get(key)}


def _dropped_languages(stages: list[dict], rows: list[dict]) -> dict | None:
    """The languages of the documents the language stage dropped. The run records no language for a
    dropped document (its sample keeps url, reason and text), so the stage's own model labels the sampled
    ones again, from their first 5,000 characters: counts of samples (at most drop_samples_per_reason per
    reason and file, from the sample files this page reads), not of every dropped document."""
    stage = next((s for s in stages if s["name"] == "language"), None)
    if stage is None:
        return None
    sampled = [r for r in rows if r["drop_reason"] in stage["dropped"]]
    result = {"dropped": sum(stage["dropped"].values()), "samples": len(sampled), "reasons": sorted(stage["dropped"])}
    try:
        labels = _detect_languages(stage.get("config", {}), [r["text"] or "" for r in sampled])
    except FileNotFoundError as e:  # the run's model_path is not on this machine
        return {**result, "rows": [], "error": str(e)}
    counts = collections.Counter(zip(labels, (r["drop_reason"] for r in sampled)))
    languages = collections.Counter(labels).most_common()
    result["rows"] = [
        {"language": lang, "total": n, "counts": [counts[(lang, reason)] for reason in result["reasons"]]}
        for lang, n in languages
    ]
    return result


def _detect_languages(config: dict, texts: list[str]) -> list[str]:
    """Each text's top language, by the language stage built from the run's config (its model and its
    newline handling), so the page names languages as the stage does (from a sample's first 5,000
    characters, so a longer page may come out differently)."""
    if not texts:
        return []
    entry = REGISTRY.get("language")
    stage = entry.build(entry.config_cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}))
    batch = pa.table({"text": pa.array(texts, pa.string()), "drop_reason": pa.nulls(len(texts), pa.string())})
    return stage(batch).column("language").to_pylist()


def _sample_rows(fs, out: str) -> list[dict]:
    """The committed samples of at most SAMPLE_FILES_READ parts per folder (dropped/ and each dedup
    stage's), spread evenly over the parts: a bounded read however many input files the run had."""
    rows = []
    for path in _sample_files(fs, storage.join(out, "dropped")):
        rows += pq.read_table(path, columns=["url", "drop_reason", "text"], filesystem=fs).to_pylist()
    return rows


def _samples(rows: list[dict]) -> dict[str, list[dict]]:
    """Up to SAMPLES_SHOWN dropped documents per reason."""
    shown: dict[str, list[dict]] = {}
    for row in rows:
        kept = shown.setdefault(row["drop_reason"], [])
        if len(kept) < SAMPLES_SHOWN:
            kept.append({"url": row["url"] or "", "text": (row["text"] or "")[:SAMPLE_CHARS]})
    return dict(sorted(shown.items()))


def _sample_files(fs, folder: str) -> list[str]:
    entries = _listing(fs, folder)
    files = sorted(e["name"] for e in entries if e["type"] == "file" and e["name"].endswith(".parquet"))
    step = max(1, math.ceil(len(files) / SAMPLE_FILES_READ))
    picked = files[::step]
    for sub in sorted(e["name"] for e in entries if e["type"] == "directory"):
        picked += _sample_files(fs, sub)
    return picked


def _listing(fs, folder: str) -> list[dict]:
    try:
        return fs.ls(folder, detail=True)
    except FileNotFoundError:
        return []


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"
