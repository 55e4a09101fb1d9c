"""The drop-rate report, rebuilt from the committed per-file stats: `report.json` and `report.md`.

Built only from what is committed, so a resumed run reports exactly what an uninterrupted one does.
"""

from __future__ import annotations

from pipeline import storage
from pipeline.filepass import PartPaths
from pipeline.registry import REGISTRY
from pipeline.stats import FileStats, StageStats, check_conservation, merge_stage_lists, sum_maps


def build_report(per_file: list[FileStats], stage_names: list[str], failed: list[tuple[str, str]]) -> dict:
    stages = merge_stage_lists([f.stages for f in per_file])
    by_name = {s.name: s for s in stages}
    problems = check_conservation(per_file)
    totals = {
        "records_read": sum(f.records_read for f in per_file),
        "kept": sum(f.kept for f in per_file),
        "kept_bytes": sum(f.kept_bytes for f in per_file),
        "tokens": sum(s.tokens for s in stages),
        "dropped": sum_maps([f.dropped for f in per_file]),
        "errors": sum_maps([f.errors for f in per_file]),
        "files": len(per_file) + len(failed),
        "files_unreadable": sum(f.status != "ok" for f in per_file),
        "files_failed": len(failed),
        "io_retries": sum_maps([f.io_retries for f in per_file]),  # corpus stages' retries are added on write
    }
    if sum(totals["dropped"].values()) + sum(totals["errors"].values()) + totals["kept"] != totals["records_read"]:
        problems.append("totals: records_read != kept + dropped + errors")
    return {
        "stages": [by_name[n].to_dict() for n in stage_names if n in by_name],
        "totals": totals,
        "conservation": {"ok": not problems, "problems": problems},
        "files": [_file_row(f) for f in per_file] + [_failed_row(p, e) for p, e in failed],
    }


def write_report(fs, output: str, failed: list[tuple[str, str]] = ()) -> dict:
    """report.json, report.md and report.html from what is committed under `output` (and run.json)."""
    run = storage.read_json(fs, storage.join(output, "run.json"))
    stages = run["stages"]
    corpus_names = [s["stage"] for s in stages if REGISTRY.get(s["stage"]).kind == "corpus"]
    per_file = []
    for index, _ in enumerate(run["inputs"]):
        stats_path = PartPaths.for_index(output, index).stats
        if fs.exists(stats_path):
            stats = FileStats.from_dict(storage.read_json(fs, stats_path))
            per_file.append(_with_corpus_stages(fs, output, stats, corpus_names))
    report = build_report(per_file, [s["stage"] for s in stages], list(failed))
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


def _with_corpus_stages(fs, output: str, stats: FileStats, corpus_names: list[str]) -> FileStats:
    """Add what the dedup stages did to this file's documents: their drops, and what is finally kept."""
    for name in corpus_names:
        path = storage.join(output, "work", name, "stats", f"part-{stats.file_index:06d}.json")
        if not fs.exists(path):
            break  # not run yet: the file's counts stop at the last committed stage, and still add up
        stage = StageStats(**storage.read_json(fs, path))
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
    lines += ["", "## Files", "", "| file | status | read | kept | dropped | errors |", "|---|---|---:|---:|---:|---|"]
    for f in report["files"]:
        status = f["status"] if not f["message"] else f"{f['status']}: {f['message']}"
        lines.append(
            f"| {f['file']} | {status} | {f['records_read']} | {f['kept']} | {f['dropped']} | {f['errors']} |"
        )
    return "\n".join(lines) + "\n"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"
