"""Fault trials, the long version: SIGKILL the driver, a busy Ray worker, or a whole node of a 2-node
`ray.cluster_utils.Cluster`, at a random moment of each phase of a full-recipe run (per-file pass, exact,
MinHash and line dedup, tokenize), run the same command again, and compare with an uninterrupted run.

    .venv/bin/python -m bench.perf.fault_trials [--seed 0] [--rounds 1] [--targets driver worker node]

One round = every target x every phase (15 trials). A trial passes when the re-run exits 0 and the kept
documents, the token shards, the manifest and the report (less timings) are byte-identical to the clean run,
the conservation check holds and no temporary file is left. Writes bench/out/fault_trials.json. The harness is
tests/faults.py, which tests/test_faults.py and tests/test_resume.py run too.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time

from bench.common import OUT
from tests.faults import PHASES, TARGETS, FaultRunner, TwoNodeCluster, make_inputs

WORK = OUT / "faults"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    runner = FaultRunner(make_inputs(WORK / "inputs"), WORK)
    clean_s = runner.clean_run()
    phases = {k: round(v, 1) for k, v in runner.phase_seconds.items()}
    print(f"clean run {clean_s:.0f} s; phases (s): {json.dumps(phases)}")
    if "node" in args.targets:
        runner.cluster = TwoNodeCluster()
    rng = random.Random(args.seed)
    rows = []
    try:
        for r in range(args.rounds):
            for target in args.targets:
                for phase in PHASES:
                    started = time.monotonic()
                    row = runner.trial(target, phase, rng, name=f"trial-{len(rows)}")
                    row["seconds"] = round(time.monotonic() - started, 1)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        if runner.cluster:
            runner.cluster.shutdown()
    result = {"seed": args.seed, "clean_run_s": round(clean_s, 1), "phase_seconds": phases, "trials": rows}
    (WORK.parent / "fault_trials.json").write_text(json.dumps(result, indent=1))
    passed = sum(r["identical"] for r in rows)
    print(f"{passed}/{len(rows)} trials identical to the clean run ({clean_s:.0f} s clean run)")
    if passed == len(rows):
        shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(0 if passed == len(rows) else 1)


if __name__ == "__main__":
    main()
