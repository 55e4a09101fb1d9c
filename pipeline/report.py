"""The drop-rate report, rebuilt from the committed per-file stats: `report.json` and `report.md`.

Built only from what is committed, so a resumed run reports exactly what an uninterrupted one does.
"""

from __future__ import annotations

from core import storage
from core.registry import REGISTRY
from core.stats import FileStats, StageStats, check_conservation, merge_stage_lists, sum_maps
from pipeline.filepass import PartPaths

REPORT_CHUNK_FILES = 500  # input files whose stats one task reads and merges (the driver merges the chunks)


def write_report(fs, output: str, failed: list[tuple[str, str]] = (), map_fn=None) -> dict:
    """report.json, report.md and report.html from what is committed under `output` (and run.json).

    One listing finds the committed files; their stats (one per file and per corpus stage) are read and
    merged in chunks of REPORT_CHUNK_FILES by `map_fn` (Ray tasks in a run; in-process for one chunk), so
    the driver reads no per-file object and holds only one row per file."""
    run = storage.read_json(fs, storage.join(output, "run.json"))
    stages = run["stages"]
    corpus_names = [s["stage"] for s in stages if REGISTRY.get(s["stage"]).kind == "corpus"]
    committed = storage.list_names(fs, storage.join(output, "stats"))
    indices = [i for i in range(len(run["inputs"])) if PartPaths.for_index(output, i).stats_name in committed]
    chunks = [indices[k : k + REPORT_CHUNK_FILES] for k in range(0, len(indices), REPORT_CHUNK_FILES)]
    args = [(output, chunk, corpus_names) for chunk in chunks]
    partials = map_fn(summarize_files, args) if map_fn and len(chunks) > 1 else [summarize_files(*a) for a in args]
    report = build_report(partials, [s["stage"] for s in stages], _not_committed(run["inputs"], indices, failed))
    configs = {s["stage"]: {k: v for k, v in s.items() if k != "stage"} for s in stages}
    for stage in report["stages"]:
        stage["config"] = configs[stage["name"]]
        timing = storage.join(output, "work", stage["name"], "timing.json")
        if stage["name"] in corpus_names and fs.exists(timing):  # a dedup stage's time is its wall time
            marker = storage.read_json(fs, timing)
            stage["seconds"] = round(marker["wall_seconds"], 3)
            stage["io_retries"] = marker.get("io_retries", {})
            report["totals"]["io_retries"] = sum_maps([report["totals"]["io_retries"], stage["io_retries"]])
    storage.write_json(fs, storage.join(output, "report.json"), report)
    storage.write_text(fs, storage.join(output, "report.md"), render_markdown(report))
    from pipeline.report_html import write_html

    write_html(output)
    return report


def summarize_files(output: str, indices: list[int], corpus_names: list[str]) -> dict:
    """Task: read the stats of these input files (and of the corpus stages for them) and merge them: the
    stages' counters, the totals, the conservation problems, and one row per file."""
    fs, _ = storage.filesystem(output)
    per_file = []
    for index in indices:
        stats = FileStats.from_dict(storage.read_json(fs, PartPaths.for_index(output, index).stats))
        per_file.append(_with_corpus_stages(fs, output, stats, corpus_names))
    return {
        "stages": [s.to_dict() for s in merge_stage_lists([f.stages for f in per_file])],
        "totals": {
            "records_read": sum(f.records_read for f in per_file),
            "kept": sum(f.kept for f in per_file),
            "kept_bytes": sum(f.kept_bytes for f in per_file),
            "dropped": sum_maps([f.dropped for f in per_file]),
            "errors": sum_maps([f.errors for f in per_file]),
            "files_unreadable": sum(f.status != "ok" for f in per_file),
            "io_retries": sum_maps([f.io_retries for f in per_file]),
        },
        "problems": check_conservation(per_file),
        "files": [_file_row(f) for f in per_file],
        "quarantined": [{"file": f.file, **entry} for f in per_file for entry in f.quarantined],
    }


def _not_committed(inputs: list[str], committed: list[int], failed) -> list[tuple[str, str]]:
    """Every input file without committed stats, with the error this run saw (`pipeline report` run later
    knows only that it is not committed)."""
    errors = dict(failed)
    done = set(committed)
    return [(f, errors.get(f, "not committed")) for i, f in enumerate(inputs) if i not in done]


def build_report(partials: list[dict], stage_names: list[str], failed: list[tuple[str, str]]) -> dict:
    """Merge the chunks' summaries into report.json's content."""
    stages = merge_stage_lists([[StageStats(**s) for s in p["stages"]] for p in partials])
    by_name = {s.name: s for s in stages}
    problems = [problem for p in partials for problem in p["problems"]]
    sums = [p["totals"] for p in partials]
    totals = {key: sum(t[key] for t in sums) for key in ("records_read", "kept", "kept_bytes", "files_unreadable")}
    totals.update({key: sum_maps([t[key] for t in sums]) for key in ("dropped", "errors", "io_retries")})
    totals["tokens"] = sum(s.tokens for s in stages)
    files = [row for p in partials for row in p["files"]]
    totals["files"] = len(files) + len(failed)
    totals["files_failed"] = len(failed)
    if sum(totals["dropped"].values()) + sum(totals["errors"].values()) + totals["kept"] != totals["records_read"]:
        problems.append("totals: records_read != kept + dropped + errors")
    order = ["records_read", "kept", "kept_bytes", "tokens", "dropped", "errors", "files", "files_unreadable"]
    totals = {key: totals[key] for key in [*order, "files_failed", "io_retries"]}
    return {
        "stages": [by_name[n].to_dict() for n in stage_names if n in by_name],
        "totals": totals,
        "conservation": {"ok": not problems, "problems": problems},
        "files": files + [_failed_row(p, e) for p, e in failed],
        "quarantined": [entry for p in partials for entry in p.get("quarantined", [])],
    }


def _with_corpus_stages(fs, output: str, stats: FileStats, corpus_names: list[str]) -> FileStats:
    """Add what the dedup stages did to this file's documents: their drops, and what is finally kept."""
    for name in corpus_names:
        path = storage.join(output, "work", name, "stats", f"part-{stats.file_index:06d}.json")
        try:
            stage = StageStats(**storage.read_json(fs, path))
        except FileNotFoundError:
            break  # not run yet: the file's counts stop at the last committed stage, and still add up
        stats.stages.append(stage)
        for reason, n in stage.dropped.items():
            stats.dropped[reason] = stats.dropped.get(reason, 0) + n
        stats.kept, stats.kept_bytes = stage.docs_out, stage.bytes_out
    return stats


def _file_row(f: FileStats) -> dict:
    return {
        "file": f.file,
        "status": f.status,
        "message": f.message,
        "records_read": f.records_read,
        "kept": f.kept,
        "dropped": sum(f.dropped.values()),
        "errors": dict(sorted(f.errors.items())),
        "record_types": f.record_types,
        "io_retries": f.io_retries,
    }


def _failed_row(path: str, error: str) -> dict:
    return {
        "file": path,
        "status": "failed",
        "message": error,
        "records_read": 0,
        "kept": 0,
        "dropped": 0,
        "errors": {},
        "record_types": {},
        "io_retries": {},
    }


def render_markdown(report: dict) -> str:
    t = report["totals"]
    lines = [
        "# Pipeline report",
        "",
        f"- records read: {t['records_read']:,}",
        f"- kept: {t['kept']:,} ({_pct(t['kept'], t['records_read'])}), {t['kept_bytes']:,} bytes of text",
        f"- dropped: {sum(t['dropped'].values()):,}; errors: {sum(t['errors'].values()):,} {t['errors'] or ''}",
        f"- files: {t['files']} ({t['files_unreadable']} unreadable, {t['files_failed']} failed)",
        f"- transient I/O failures retried: {sum(t['io_retries'].values()):,} {t['io_retries'] or ''}",
        f"- conservation (records_read = kept + dropped + errors): "
        f"{'holds' if report['conservation']['ok'] else 'BROKEN: ' + '; '.join(report['conservation']['problems'])}",
        "",
        "## Stages",
        "",
        "| stage | docs in | docs out | dropped | drop rate | bytes in | bytes out | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in report["stages"]:
        n_dropped = sum(s["dropped"].values())
        lines.append(
            f"| {s['name']} | {s['docs_in']:,} | {s['docs_out']:,} | {n_dropped:,} | {_pct(n_dropped, s['docs_in'])} "
            f"| {s['bytes_in']:,} | {s['bytes_out']:,} | {s['seconds']:.2f} |"
        )
    lines += ["", "## Drop reasons", "", "| reason | documents |", "|---|---:|"]
    lines += [f"| `{r}` | {n:,} |" for r, n in t["dropped"].items()]
    if report.get("quarantined"):
        lines += ["", "## Quarantined records (they killed their worker or passed the hard limits; skipped)", ""]
        lines += ["| file | record | url | stage | reason |", "|---|---:|---|---|---|"]
        lines += [
            f"| {q['file']} | {q['ordinal']} | {q.get('url') or '-'} | {q['stage']} | {q['reason']} |"
            for q in report["quarantined"]
        ]
    lines += ["", "## Files", "", "| file | status | read | kept | dropped | errors |", "|---|---|---:|---:|---:|---|"]
    for f in report["files"]:
        status = f["status"] if not f["message"] else f"{f['status']}: {f['message']}"
        lines.append(
            f"| {f['file']} | {status} | {f['records_read']} | {f['kept']} | {f['dropped']} | {f['errors']} |"
        )
    return "\n".join(lines) + "\n"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"
