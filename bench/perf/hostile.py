"""Hostile records through the per-file pass: what one bad record costs (CPU, memory, a hang, a failed file) and
whether the clean pages around it survive.

    .venv/bin/python -m bench.perf.hostile [--out bench/out/hostile.json] [--cases a,b] [--per-case-timeout 300]
        [--code head|worktree|COMMIT] [--scale 1.0] [--max-rss-mb 8000] [--work DIR]

fixtures/make_hostile.py writes the corpus into a temporary folder (--work keeps it): per case one file with a
hostile record between two clean English articles, and the same two articles alone (the reference). Each case runs
in its own child process, so that a hang, a memory blow-up or a crash costs that case only: the child first runs
`pipeline.filepass.process_file` (the recipe, default the code's stages.yaml, no Ray) over the reference file,
which also loads every model, then over the hostile file. The parent polls the child's RSS and kills it past
--max-rss-mb ("killed") or --per-case-timeout seconds after its warm-up ("hang"); os.wait4 gives its CPU time
and peak RSS. The code measured is a snapshot of the committed HEAD by default (others may be editing the working
tree mid-run); `--code worktree` measures the working tree as it is, `--code COMMIT` that commit (a before/after).

Per case: CPU seconds of the child (all of it, and the hostile pass alone), peak RSS, the committed stats, the
outcome (ok; file_error: the pass committed the file as unreadable; file_failed: process_file raised; hang;
killed), the hostile record's reason (the drop reasons and errors beyond the reference's), and whether every
clean URL was kept with exactly the reference's text. Writes the JSON, and a Markdown table beside it (.md).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.common import OUT, REPO, git, head_snapshot, in_code, markdown_table

POLL_S = 0.1
WARMUP_LIMIT_S = 300  # the reference file and the models, before the hostile file's clock starts


def _generator():
    sys.path.insert(0, str(REPO / "fixtures"))
    import make_hostile

    return make_hostile


# ---------------------------------------------------------------------------------------------------- the child


def _cpu_s() -> float:
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def _outputs(output: Path, cfg) -> dict:
    """{url: text} of the kept documents and {url: reason} of the dropped samples that the pass committed."""
    import pyarrow.parquet as pq

    found = {"kept": {}, "dropped": {}}
    docs = output / cfg.per_file_docs_folder / "part-000000.parquet"
    if docs.exists():
        table = pq.read_table(docs, columns=["url", "text"])
        found["kept"] = dict(zip(table.column("url").to_pylist(), table.column("text").to_pylist()))
    dropped = output / "dropped" / "part-000000.parquet"
    if dropped.exists():
        table = pq.read_table(dropped, columns=["url", "drop_reason"])
        found["dropped"] = dict(zip(table.column("url").to_pylist(), table.column("drop_reason").to_pylist()))
    return found


def child(hostile: str, clean: str, work: str, recipe: str) -> None:
    """Inside the child: the reference file (warm-up), a marker, then the hostile file; results as JSON files."""
    from pipeline.config import load
    from pipeline.filepass import process_file

    work_dir = Path(work)
    cfg = load(recipe)
    clean_cfg = cfg.with_overrides(input=(clean,), output=str(work_dir / "clean"))
    clean_stats = process_file(0, clean, clean_cfg)
    warm = {"cpu_s": _cpu_s(), "rss_mb": _rss_mb(), "stats": clean_stats, **_outputs(work_dir / "clean", cfg)}
    (work_dir / "warm.json").write_text(json.dumps(warm))
    hostile_cfg = cfg.with_overrides(input=(hostile,), output=str(work_dir / "hostile"))
    cpu, wall = _cpu_s(), time.perf_counter()
    result: dict = {}
    try:
        result["stats"] = process_file(0, hostile, hostile_cfg)
    except BaseException as e:  # whatever escapes is the finding
        result["exception"] = f"{type(e).__name__}: {str(e)[:300]}"
        result["traceback"] = traceback.format_exc()[-3000:]
    result.update(pass_cpu_s=_cpu_s() - cpu, pass_wall_s=time.perf_counter() - wall)
    if "stats" in result:
        result.update(_outputs(work_dir / "hostile", cfg))
    (work_dir / "result.json").write_text(json.dumps(result))
    sys.exit(3 if "exception" in result else 0)


# --------------------------------------------------------------------------------------------------- the parent


def watch(proc: subprocess.Popen, warm_marker: Path, timeout_s: float, max_rss_mb: int) -> dict:
    """Wait for the child, killing it (its whole process group) at the timeout or past the RSS limit; returns the
    exit status, its rusage from os.wait4 (user + system CPU, peak RSS of it and its own children) and why it was
    killed, if it was."""
    import psutil

    started, warm_at, killed = time.monotonic(), None, None
    try:
        watched = psutil.Process(proc.pid)
    except psutil.Error:
        watched = None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        now = time.monotonic()
        if warm_at is None and warm_marker.exists():
            warm_at = now
        deadline = started + WARMUP_LIMIT_S if warm_at is None else warm_at + timeout_s
        if killed is None and now > deadline:
            killed = "hang"
        if killed is None and watched is not None and _tree_rss_mb(watched) > max_rss_mb:
            killed = f"RSS over {max_rss_mb} MB"
        if killed is not None:
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(POLL_S)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    return {
        "returncode": proc.returncode,
        "killed": killed,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        "hostile_wall_s": None if warm_at is None else time.monotonic() - warm_at,
    }


def _tree_rss_mb(process) -> float:
    import psutil

    total = 0
    for p in [process, *_children(process)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def _children(process) -> list:
    import psutil

    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def run_case(entry: dict, corpus: Path, runs: Path, code: Path, recipe: Path, timeout_s: float, max_rss_mb: int):
    """One case in its own child process (its own session, so that a kill takes every process it started)."""
    work = runs / entry["name"]
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    hostile, clean = corpus / entry["file"], corpus / entry["clean_file"]
    cmd, env = in_code(code, __spec__.name, "--child", str(hostile), str(clean), str(work), str(recipe))
    with open(work / "child.log", "wb") as log:
        popen = dict(cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        proc = subprocess.Popen(cmd, **popen)
        ran = watch(proc, work / "warm.json", timeout_s, max_rss_mb)
    warm = _load(work / "warm.json")
    result = _load(work / "result.json")
    row = {k: entry[k] for k in ("name", "class", "description", "file")}
    row["file_mb"] = round(hostile.stat().st_size / 2**20, 2)
    row.update(ran)
    row["warmup_cpu_s"] = warm.get("cpu_s")
    row["rss_after_warmup_mb"] = warm.get("rss_mb")
    row["pass_cpu_s"] = result.get("pass_cpu_s")
    if row["pass_cpu_s"] is None and warm:
        row["pass_cpu_s"] = ran["cpu_s"] - warm["cpu_s"]  # killed: the child's CPU past its warm-up
    row["outcome"], row["detail"] = _outcome(ran, warm, result, work)
    row["stats"] = _short_stats(result.get("stats"))
    row["reference_stats"] = _short_stats(warm.get("stats"))
    row["hostile_reason"] = _hostile_reason(result, warm)
    row["clean"] = _clean_check(entry["clean_urls"], warm, result)
    if "traceback" in result:
        row["traceback"] = result["traceback"]
    return row


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _outcome(ran: dict, warm: dict, result: dict, work: Path) -> tuple[str, str | None]:
    if ran["killed"] == "hang":
        return "hang", None if warm else "still warming up (the reference file)"
    if ran["killed"]:
        return "killed", ran["killed"]
    if ran["returncode"] < 0:
        return "killed", f"signal {signal.Signals(-ran['returncode']).name}"
    if "exception" in result:
        return "file_failed", result["exception"]
    if ran["returncode"] != 0 or "stats" not in result:
        tail = (work / "child.log").read_bytes()[-400:].decode("utf-8", "replace")
        return "crashed", f"rc {ran['returncode']}: {tail}"
    if result["stats"]["status"] != "ok":
        return "file_error", result["stats"]["message"]
    return "ok", None


def _short_stats(stats: dict | None) -> dict | None:
    if not stats:
        return None
    keys = ("status", "message", "records_read", "kept", "dropped", "errors", "record_types")
    return {k: stats[k] for k in keys}


def _hostile_reason(result: dict, warm: dict) -> str:
    """What the file's counters say beyond the reference's: the hostile record's drop reason or error (a reader
    error is a row without URL, so counters, not URLs), "kept", or "uncounted" when it left no trace."""
    stats, ref = result.get("stats"), warm.get("stats")
    if not stats or not ref:
        return "-"
    if stats["status"] != "ok":
        return "file error"
    extra = collections.Counter(stats["dropped"]) + collections.Counter(stats["errors"])
    extra.subtract(collections.Counter(ref["dropped"]) + collections.Counter(ref["errors"]))
    extra["kept"] = stats["kept"] - ref["kept"]
    parts = [f"{r}" + (f" x{n}" if n > 1 else "") for r, n in sorted(extra.items()) if n > 0]
    if parts:
        return ", ".join(parts)
    return "uncounted" if stats["records_read"] <= ref["records_read"] else "?"


def _clean_check(urls: list[str], warm: dict, result: dict) -> dict:
    """Each clean URL: kept by the hostile run with exactly the text the reference run kept for it."""
    reference, kept = warm.get("kept", {}), result.get("kept", {})
    check = {"urls": len(urls), "kept_same": 0, "lost": [], "changed": [], "not_in_reference": []}
    for url in urls:
        if url not in reference:
            check["not_in_reference"].append(url)
        elif url not in kept:
            check["lost"].append(url)
        elif kept[url] != reference[url]:
            check["changed"].append(url)
        else:
            check["kept_same"] += 1
    return check


def _clean_cell(check: dict) -> str:
    if not check["urls"]:
        return "n/a"
    cell = f"{check['kept_same']}/{check['urls']}"
    for key in ("lost", "changed", "not_in_reference"):
        if check[key]:
            cell += f" {key.replace('_', ' ')}: " + ", ".join(u.rsplit("/", 1)[-1][:18] for u in check[key])
    return cell


def table(rows: list[dict]) -> str:
    header = [
        "case",
        "class",
        "CPU-s",
        "pass CPU-s",
        "peak RSS MB",
        "outcome",
        "hostile record's reason",
        "clean kept",
    ]
    cells = []
    for r in rows:
        outcome = r["outcome"] + (f": {r['detail'][:70]}" if r["detail"] else "")
        pass_cpu = "-" if r["pass_cpu_s"] is None else f"{r['pass_cpu_s']:.2f}"
        cells.append(
            [r["name"], r["class"], f"{r['cpu_s']:.1f}", pass_cpu, f"{r['peak_rss_mb']:.0f}", outcome]
            + [r["hostile_reason"], _clean_cell(r["clean"])]
        )
    return markdown_table(header, cells, "llrrr")


def code_root(which: str) -> Path:
    """`worktree`: this checkout, live; `head`: the committed HEAD (common.head_snapshot); else that commit, exported
    the same way to bench/out/hostile_code/<sha>/ (bench/ left out: the harness is this checkout's)."""
    if which == "worktree":
        return REPO
    if which == "head":
        return head_snapshot(OUT / "hostile_code")
    sha = git("rev-parse", "--verify", f"{which}^{{commit}}").decode().strip()
    root = OUT / "hostile_code" / sha
    if not (root / "stages.yaml").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        archive = git("archive", sha, "--", ".", ":(exclude)bench")
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT / "hostile.json")
    parser.add_argument("--cases", help="comma-separated case names (default: every case of make_hostile.py)")
    parser.add_argument("--per-case-timeout", type=float, default=300, help="seconds of the hostile pass")
    parser.add_argument("--max-rss-mb", type=int, default=8000, help="kill a child whose RSS passes this")
    parser.add_argument("--scale", type=float, default=1.0, help="make_hostile.py's size factor")
    parser.add_argument("--code", default="head", help="head, worktree or a commit: the code measured (see above)")
    parser.add_argument("--recipe", type=Path, help="the recipe (default: the measured code's stages.yaml)")
    parser.add_argument("--work", type=Path, help="keep the corpus and every run's output here (default: a temp dir)")
    parser.add_argument("--child", nargs=4, metavar=("HOSTILE", "CLEAN", "WORK", "RECIPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    gen = _generator()
    names = args.cases.split(",") if args.cases else list(gen.CASES)
    unknown = sorted(set(names) - set(gen.CASES))
    if unknown:
        parser.error(f"unknown cases: {', '.join(unknown)}")
    args.code_root = code_root(args.code)
    args.recipe = args.recipe or args.code_root / "stages.yaml"
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        work = args.work or Path(tmp)
        rows = run_all(gen, names, work, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: getattr(args, k) for k in ("per_case_timeout", "max_rss_mb", "scale", "code")}
    settings["commit"] = args.code_root.name if args.code != "worktree" else git("rev-parse", "HEAD").decode().strip()
    settings["recipe"] = str(args.recipe)
    args.out.write_text(json.dumps({**settings, "cases": rows}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(table(rows) + "\n")
    print("\n" + table(rows))
    print(f"\nwrote {args.out} and {args.out.with_suffix('.md')}")


def run_all(gen, names: list[str], work: Path, args) -> list[dict]:
    corpus, rows = work / "in", []
    for name in names:
        entry = gen.write_case(name, corpus, args.scale)
        gen.write_clean(name, corpus)
        row = run_case(
            entry, corpus, work / "runs", args.code_root, args.recipe, args.per_case_timeout, args.max_rss_mb
        )
        rows.append(row)
        print(
            f"{name:32} {row['outcome']:11} cpu {row['cpu_s']:6.1f}s rss {row['peak_rss_mb']:6.0f}MB "
            f"{row['hostile_reason'][:50]:50} clean {_clean_cell(row['clean'])}",
            file=sys.stderr,
            flush=True,
        )
        if not args.work:
            shutil.rmtree(work / "runs" / name, ignore_errors=True)
            for key in ("file", "clean_file"):
                (corpus / entry[key]).unlink(missing_ok=True)
    return rows


if __name__ == "__main__":
    main()
