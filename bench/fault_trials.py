"""Fault trials: SIGKILL the driver or a busy Ray worker at a random moment of a full-recipe run (per-file
pass, dedup, tokenize), run the same command again, and compare everything with an uninterrupted run.

    .venv/bin/python bench/fault_trials.py [--trials 10] [--seed 0]

Input: 24 copies of fixtures/warc/mixed.warc.gz plus the other fixtures (so every stage has work). A trial
passes when the re-run exits 0 and the kept documents, the token shards, the manifest and the report (less
timings) are byte-identical to the clean run, with no temporary file left. Writes bench/out/fault_trials.json.
Not covered here: killing a whole node of a multi-node cluster (see ENVIRONMENT.md, ray.cluster_utils).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "out" / "faults"


def command(inputs: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline", "run", "stages.yaml", "--input", str(inputs), "--output", str(out)]


def make_inputs() -> Path:
    folder = WORK / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(24):
        shutil.copy(ROOT / "fixtures" / "warc" / "mixed.warc.gz", folder / f"crawl-{i:03d}.warc.gz")
    for extra in ("duplicates.warc.gz", "truncated.warc.gz", "large_page.warc.gz"):
        shutil.copy(ROOT / "fixtures" / "warc" / extra, folder / extra)
    return folder


def fingerprint(out: Path) -> dict:
    files = {}
    for folder in ("docs", "tokens/shards"):
        for path in sorted((out / folder).iterdir()):
            files[f"{folder}/{path.name}"] = path.read_bytes()
    files["manifest"] = (out / "tokens" / "manifest.json").read_bytes()
    report = json.loads((out / "report.json").read_text())
    for stage in report["stages"]:
        stage.pop("seconds")
    files["report"] = json.dumps(report, sort_keys=True).encode()
    return files


def kill_at(proc: subprocess.Popen, target: str, delay: float) -> str:
    """Wait `delay` seconds, then SIGKILL the driver or a busy worker; returns what was killed."""
    time.sleep(delay)
    if proc.poll() is not None:
        return "nothing (the run had finished)"
    if target == "worker":
        busy = [(p, name) for p in psutil.Process(proc.pid).children(recursive=True) if (name := _task_name(p))]
        if busy:
            victim, name = busy[0]
            victim.send_signal(signal.SIGKILL)
            return f"worker running {name}"
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(children, timeout=15)
    for p in alive:
        p.kill()
    return "driver"


def _task_name(p: psutil.Process) -> str | None:
    """The task a Ray worker is running (its process title), or None for anything else."""
    try:
        name = " ".join(p.cmdline())
    except psutil.Error:
        return None
    busy = name.startswith("ray::") and "IDLE" not in name and "Agent" not in name
    return name.split()[0] if busy else None


def trial(inputs: Path, clean: dict, target: str, delay: float, k: int) -> dict:
    out = WORK / f"trial-{k}"
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.Popen(command(inputs, out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed = kill_at(proc, target, delay)
    proc.wait()
    rerun = subprocess.run(command(inputs, out), cwd=ROOT, capture_output=True, text=True)
    same = rerun.returncode == 0 and fingerprint(out) == clean
    leftovers = [str(p) for p in out.rglob("*.tmp-*")]
    shutil.rmtree(out, ignore_errors=True)
    return {
        "trial": k,
        "target": target,
        "delay_s": round(delay, 1),
        "killed": killed,
        "rerun_exit": rerun.returncode,
        "identical": same,
        "leftover_tmp_files": len(leftovers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    inputs = make_inputs()
    started = time.monotonic()
    clean_out = WORK / "clean"
    shutil.rmtree(clean_out, ignore_errors=True)
    subprocess.run(command(inputs, clean_out), cwd=ROOT, check=True, capture_output=True)
    duration = time.monotonic() - started
    clean = fingerprint(clean_out)
    rng = random.Random(args.seed)
    rows = []
    for k in range(args.trials):
        target = rng.choice(["driver", "worker"])
        row = trial(inputs, clean, target, rng.uniform(2.0, duration), k)
        rows.append(row)
        print(json.dumps(row), flush=True)
    (WORK.parent / "fault_trials.json").write_text(json.dumps({"clean_run_s": duration, "trials": rows}, indent=1))
    passed = sum(r["identical"] and not r["leftover_tmp_files"] for r in rows)
    print(f"{passed}/{len(rows)} trials identical to the clean run ({duration:.0f} s clean run)")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
