"""Peak memory of the whole default recipe on one WARC of about 0.25 GB and one of about 1 GB: it must not
grow with the size of the input file (DESIGN.md invariant 4).

    .venv/bin/python -m bench.perf.memory [--repeats 6 23]

The WARCs are bench/make_bench_warc.py's real html_eval pages written N times (44 MB a repeat, so 6 ~ 0.27
GB and 23 ~ 1.0 GB). By default every copy after the first is a variation of the page
(`make_bench_warc.varied`: a word inserted after every "the"), so that exact dedup keeps the copies and
MinHash, line dedup and tokenize see the input grow too; --exact writes exact copies. Each size runs
`python -m pipeline run stages.yaml` with an embedded Ray (2 CPUs) in a subprocess; psutil polls the RSS
of that process and of every process under it every 0.2 s. Reported: the driver's peak, the largest peak
of a Ray worker (`ray::` processes), and the peak of everything summed. Writes bench/out/memory.json, from
which `table` renders BENCHMARKS.md's table (`python -m bench.tables`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.common import OUT, RAY_ENV, REPO, markdown_table
from bench.make_bench_warc import build


def run_and_watch(warc: Path, out: Path) -> dict:
    env = dict(os.environ, **RAY_ENV)
    cmd = [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        "stages.yaml",
        "--input",
        str(warc),
        "--output",
        str(out),
        "--num-cpus",
        "2",
    ]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    driver = psutil.Process(proc.pid)
    peaks: dict[int, tuple[str, int]] = {}
    total_peak = 0
    while proc.poll() is None:
        total = 0
        for p in [driver, *_children(driver)]:
            try:
                rss, name = p.memory_info().rss, " ".join(p.cmdline())[:60]
            except psutil.Error:
                continue
            total += rss
            if rss > peaks.get(p.pid, ("", 0))[1]:
                peaks[p.pid] = (name, rss)
        total_peak = max(total_peak, total)
        time.sleep(0.2)
    output = proc.stdout.read()
    if proc.returncode != 0:
        sys.exit(f"pipeline failed:\n{output[-3000:]}")
    workers = [rss for pid, (name, rss) in peaks.items() if name.startswith("ray::")]
    report = json.loads((out / "report.json").read_text())
    return {
        "wall_s": round(time.monotonic() - started, 1),
        "records_read": report["totals"]["records_read"],
        "minhash_docs_in": next(st["docs_in"] for st in report["stages"] if st["name"] == "minhash_dedup"),
        "kept": report["totals"]["kept"],
        "tokens": report["totals"]["tokens"],
        "driver_peak_mb": round(peaks[proc.pid][1] / 2**20),
        "max_worker_peak_mb": round(max(workers) / 2**20) if workers else None,
        "worker_pids": len(workers),
        "all_processes_peak_mb": round(total_peak / 2**20),
    }


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, nargs="+", default=[6, 23])
    parser.add_argument("--exact", action="store_true", help="exact copies instead of variations")
    args = parser.parse_args()
    rows = []
    for repeat in args.repeats:
        info = build(repeat, vary=not args.exact)
        warc = Path(info["path"])
        out = OUT / f"memory-run-x{repeat}"
        shutil.rmtree(out, ignore_errors=True)
        row = {"repeat": repeat, "varied": not args.exact, "warc_gb": round(warc.stat().st_size / 1e9, 3)}
        row.update(run_and_watch(warc, out))
        rows.append(row)
        print(json.dumps(row), flush=True)
        shutil.rmtree(out, ignore_errors=True)
        if repeat != 1:
            warc.unlink()
    (OUT / "memory.json").write_text(json.dumps(rows, indent=1))
    print("\n" + table(rows))


def table(rows: list[dict]) -> str:
    """One row per WARC size (BENCHMARKS.md "Memory does not grow"), from bench/out/memory.json."""
    header = ["WARC", "records", "into MinHash", "kept", "tokens", "wall", "driver peak", "largest Ray worker peak"]
    cells = [
        [
            f"{r['warc_gb']:.2f} GB (×{r['repeat']})",
            *(f"{r[k]:,}" for k in ("records_read", "minhash_docs_in", "kept")),
        ]
        + [f"{r['tokens']:,}", f"{r['wall_s']:.0f} s"]
        + [f"{r[k]:,} MB" for k in ("driver_peak_mb", "max_worker_peak_mb", "all_processes_peak_mb")]
        for r in rows
    ]
    return markdown_table([*header, "all processes summed, peak"], cells)


if __name__ == "__main__":
    main()
