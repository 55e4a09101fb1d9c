"""Fuzzing, the long version: tests/test_fuzz.py's properties (its TARGETS) under random seeds and many more
examples than CI runs.

    .venv/bin/python -m bench.perf.fuzz --minutes N [--out bench/out/fuzz.json] [--targets NAME ...] [--seed S]

Each target gets an equal share of the N minutes, spent in Hypothesis runs of `--examples` examples under fresh
seeds until the share is used (a run that finds a failure shrinks it first, so it may overrun its share). Every
example runs in a forked child under tests/fuzz_strategies.py's budget (2 CPU-s, 200 MB of peak RSS growth; the
FUZZ_CPU_S and FUZZ_RSS_MB environment variables change it). Records per target: examples run (shrinking
included), the worst CPU-s and peak RSS growth of one example, and each kind of failure with its minimal example
(its repr in the JSON; its raw input, a WARC file or a page, under bench/out/fuzz_failures/). Prints a Markdown
table; exits 1 if any property failed.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import seed as with_seed

from bench.common import OUT, markdown_table
from tests import fuzz_strategies as fs
from tests.test_fuzz import TARGETS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, required=True, help="total time, shared equally by the targets")
    parser.add_argument("--out", type=Path, default=OUT / "fuzz.json")
    parser.add_argument("--targets", nargs="+", choices=sorted(TARGETS), default=sorted(TARGETS))
    parser.add_argument("--examples", type=int, default=200, help="examples per Hypothesis run (one seed)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the seeds (default: random)")
    args = parser.parse_args()
    master = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    rng, share = random.Random(master), args.minutes * 60 / len(args.targets)
    results = {}
    for name in args.targets:
        results[name] = fuzz_target(TARGETS[name], share, args.examples, rng)
        print(json.dumps({"target": name, **_brief(results[name])}), flush=True)
    failures_dir = args.out.parent / "fuzz_failures"
    for name, result in results.items():
        _save_artifacts(name, result, failures_dir)
    budget = fs.DEFAULT_BUDGET
    report = {"minutes": args.minutes, "seed": master, "budget": vars(budget), "targets": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, default=str))
    print(table(report))
    print(f"\nwritten {args.out}")
    sys.exit(1 if any(r["failures"] for r in results.values()) else 0)


def fuzz_target(target: fs.Target, seconds: float, examples: int, rng: random.Random) -> dict:
    """Hypothesis runs of `examples` examples under fresh seeds until `seconds` have passed; the target's stats."""
    target.prepare()
    started, seeds, found = time.monotonic(), [], {}
    failures = fs.STATS.setdefault(target.name, fs.TargetStats()).failures
    while time.monotonic() - started < seconds:
        seed = rng.getrandbits(64)
        seeds.append(seed)
        before = {kind: id(entry) for kind, entry in failures.items()}
        try:
            _hypothesis_run(target, seed, examples)()
        except Exception as e:  # FuzzFailures (recorded by Target.run) or an ExceptionGroup of them; else Hypothesis'
            if not _fuzz_failures_only(e):
                failures.setdefault(f"hypothesis:{type(e).__name__}", {"message": str(e)[:4000]})
            for kind, entry in failures.items():
                if before.get(kind) != id(entry):  # found (again) in this run: its example is this seed's minimal
                    found[kind] = seed
    stats = fs.STATS.get(target.name, fs.TargetStats())
    failures = {kind: {**failure, "seed": found.get(kind)} for kind, failure in stats.failures.items()}
    return {
        "examples": stats.examples,
        "runs": len(seeds),
        "seconds": round(time.monotonic() - started, 1),
        "worst_cpu_s": round(stats.worst_cpu_s, 3),
        "worst_rss_mb": round(stats.worst_rss_mb, 1),
        "failures": failures,
    }


def _fuzz_failures_only(e: BaseException) -> bool:
    if isinstance(e, BaseExceptionGroup):
        return all(map(_fuzz_failures_only, e.exceptions))
    return isinstance(e, fs.FuzzFailure)


def _hypothesis_run(target: fs.Target, seed: int, examples: int):
    """One seeded Hypothesis run of the target's property: random, no example database, no deadline."""

    def test(example):
        target.run(example)

    run_settings = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    return run_settings(with_seed(seed)(given(target.strategy)(test)))


def _save_artifacts(name: str, result: dict, folder: Path) -> None:
    """Each failure's raw input to a file of its own; the JSON keeps its path instead of the bytes."""
    for kind, failure in result["failures"].items():
        data = failure.pop("artifact", None)
        if data:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / (re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{name}__{kind}")[:150] + ".bin")
            path.write_bytes(data)
            failure["artifact"] = str(path)


def _brief(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "failures"} | {"failures": sorted(result["failures"])}


def table(report: dict) -> str:
    """Markdown: per target, examples, worst cost of one example, and the kinds of failure found."""
    budget = report["budget"]
    header = ["target", "examples", "runs", f"worst CPU-s (budget {budget['cpu_s']})",
              f"worst RSS MB (budget {budget['rss_mb']:.0f})", "failures"]  # fmt: skip
    rows = [
        [name, r["examples"], r["runs"], f"{r['worst_cpu_s']:.2f}", f"{r['worst_rss_mb']:.0f}",
         "<br>".join(sorted(r["failures"])) or "none"]
        for name, r in report["targets"].items()
    ]  # fmt: skip
    return markdown_table(header, rows, "lrrrrl")


if __name__ == "__main__":
    main()
