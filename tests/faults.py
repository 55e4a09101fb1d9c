"""Fault injection for the full recipe: SIGKILL the driver, a busy Ray worker, or a whole node of a 2-node
`ray.cluster_utils.Cluster` in a chosen phase of a run, run the same command again, and compare with an
uninterrupted run. Used by tests/test_faults.py, tests/test_resume.py and bench/perf/fault_trials.py (the
long version, `python -m bench.perf.fault_trials`).

Phases are read from the output folder, so a kill is placed in the phase it is meant for: `per_file` (some
but not all input files committed), then each corpus stage (its work folder exists, its `timing.json` marker
does not), in the order of stages.yaml.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CORPUS_PHASES = ("exact_dedup", "minhash_dedup", "line_dedup", "tokenize")
PHASES = ("per_file", *CORPUS_PHASES)
TARGETS = ("driver", "worker", "node")
COPIES = 64


def make_inputs(folder: Path) -> Path:
    """64 copies of the mixed fixture (exact and near duplicates across files) plus the other fixtures."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(COPIES):
        shutil.copy(ROOT / "fixtures" / "warc" / "mixed.warc.gz", folder / f"crawl-{i:03d}.warc.gz")
    for extra in ("duplicates.warc.gz", "truncated.warc.gz", "large_page.warc.gz"):
        shutil.copy(ROOT / "fixtures" / "warc" / extra, folder / extra)
    return folder


def n_inputs(folder: Path) -> int:
    return len(list(folder.glob("*.warc.gz")))


def phase_of(out: Path, n_files: int) -> str:
    """Where a run writing into `out` is now: 'start', 'per_file', a corpus stage, or 'finishing'."""
    committed = len(list((out / "stats").glob("*.json"))) if (out / "stats").exists() else 0
    if committed == 0:
        return "start"
    if committed < n_files:
        return "per_file"
    for stage in CORPUS_PHASES:
        if not (out / "work" / stage / "timing.json").exists():
            return stage
    return "finishing"


def fingerprint(out: Path) -> dict[str, bytes]:
    """Everything a user keeps from a run, byte for byte: documents, token shards, manifest, and the report
    less its timings."""
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


def differences(out: Path, clean: dict[str, bytes]) -> list[str]:
    """What differs from the clean run (empty when identical), plus conservation and leftover checks."""
    try:
        got = fingerprint(out)
    except (OSError, ValueError) as e:
        return [f"output incomplete: {e}"]
    problems = [name for name in sorted(set(got) | set(clean)) if got.get(name) != clean.get(name)]
    if not json.loads((out / "report.json").read_text())["conservation"]["ok"]:
        problems.append("conservation check broken")
    problems += [f"leftover {p.relative_to(out)}" for p in out.rglob("*.tmp-*")]
    return problems


class TwoNodeCluster:
    """A head node and a worker node on 127.0.0.1, with a 2-second failure detector. The head has no CPU for
    tasks (as on a real cluster, where it runs the driver and Ray's services), so every task runs on the
    worker node: killing it outright (SIGKILL of its raylet and workers) always hits work in progress. A
    replacement node then joins, as an autoscaler would bring one."""

    def __init__(self):
        from ray.cluster_utils import Cluster

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        self._cluster = Cluster(
            initialize_head=True,
            head_node_args=dict(
                num_cpus=0,
                include_dashboard=False,
                node_ip_address="127.0.0.1",
                _system_config={
                    "health_check_period_ms": 1000,
                    "health_check_failure_threshold": 2,
                    "health_check_initial_delay_ms": 0,
                },
            ),
        )
        self._worker = self._add_worker()
        self.address = self._cluster.address

    def _add_worker(self):
        node = self._cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        self._cluster.wait_for_nodes()
        return node

    def busy_tasks(self) -> list[str]:
        """The tasks the worker node is running now (`ray::<task>` process titles)."""
        raylet = psutil.Process(self._worker.all_processes["raylet"][0].process.pid)
        return sorted(title for p in raylet.children(recursive=True) if (title := _busy_title(p)))

    def kill_worker_node(self) -> str:
        """SIGKILL every process of the worker node; returns the tasks it was running at that moment."""
        tasks = self.busy_tasks()
        self._cluster.remove_node(self._worker, allow_graceful=False)
        self._worker = self._add_worker()
        return f"node running {', '.join(tasks) or 'no task'}"

    def shutdown(self) -> None:
        self._cluster.shutdown()


@dataclass
class FaultRunner:
    """Runs the full recipe over `inputs` into folders under `work`, embedded or on `cluster`."""

    inputs: Path
    work: Path
    cluster: TwoNodeCluster | None = None
    clean: dict[str, bytes] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)

    def command(self, out: Path, on_cluster: bool) -> list[str]:
        cmd = [sys.executable, "-m", "pipeline", "run", "stages.yaml", "--input", str(self.inputs)]
        cmd += ["--output", str(out)]
        return cmd + (["--address", self.cluster.address] if on_cluster else [])

    def clean_run(self) -> float:
        """An uninterrupted embedded run: its output is the reference; times each phase to place kills."""
        out = self.work / "clean"
        shutil.rmtree(out, ignore_errors=True)
        started = time.monotonic()
        proc = subprocess.Popen(self.command(out, False), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seen: dict[str, float] = {}
        while proc.poll() is None:
            seen.setdefault(phase_of(out, n_inputs(self.inputs)), time.monotonic())
            time.sleep(0.01)
        if proc.returncode != 0:
            raise RuntimeError(f"clean run failed: {proc.stderr.read().decode()[-2000:]}")
        seen.setdefault("end", time.monotonic())
        marks = sorted(seen.items(), key=lambda kv: kv[1])
        self.phase_seconds = {a: tb - ta for (a, ta), (_, tb) in zip(marks, marks[1:])}
        self.clean = fingerprint(out)
        return time.monotonic() - started

    def trial(self, target: str, phase: str, rng: random.Random, name: str, prompt: bool = False) -> dict:
        """Start a run, kill `target` at a random moment of `phase` (`prompt`: as soon as the phase is seen),
        run the same command again, compare."""
        out = self.work / name
        shutil.rmtree(out, ignore_errors=True)
        on_cluster = target == "node"
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc = subprocess.Popen(self.command(out, on_cluster), cwd=ROOT, **quiet)
        try:
            landed, killed = self._kill_in_phase(proc, out, target, phase, rng, prompt)
            first_exit = proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
        rerun = subprocess.run(self.command(out, on_cluster), cwd=ROOT, capture_output=True, text=True)
        problems = differences(out, self.clean) if rerun.returncode == 0 else [f"re-run exit {rerun.returncode}"]
        row = dict(target=target, phase=phase, landed_in=landed, killed=killed, first_exit=first_exit)
        row.update(rerun_exit=rerun.returncode, identical=not problems, problems=problems[:5])
        if not problems:
            shutil.rmtree(out, ignore_errors=True)
        return row

    def _kill_in_phase(self, proc, out: Path, target: str, phase: str, rng: random.Random, prompt: bool = False):
        n_files = n_inputs(self.inputs)
        deadline = time.monotonic() + 300
        while phase_of(out, n_files) != phase:
            if proc.poll() is not None or time.monotonic() > deadline:
                return "missed", "nothing (the phase was never seen)"
            time.sleep(0.005)
        # The phase lengths come from the clean run; a run on a busier machine can be done with the phase sooner
        # or later than that, so a trial may miss it (then landed_in says so) and a test retries it `prompt`ly.
        time.sleep(0 if prompt else rng.uniform(0, 0.8 * self.phase_seconds.get(phase, 0.5)))
        landed = phase_of(out, n_files)
        if proc.poll() is not None:
            return landed, "nothing (the run had finished)"
        if target == "node":
            # Prefer a moment when the node is running one of the phase's tasks (it idles between steps).
            deadline = time.monotonic() + 3
            while not self.cluster.busy_tasks() and phase_of(out, n_files) == phase and time.monotonic() < deadline:
                time.sleep(0.002)
            return phase_of(out, n_files), self.cluster.kill_worker_node()
        if target == "worker":
            victim = busy_worker(proc.pid)
            if victim:
                task = _busy_title(victim)
                victim.send_signal(signal.SIGKILL)
                return landed, f"worker running {task}"
            return landed, "nothing (no busy worker)"
        kill_driver(proc)
        return landed, "driver"


def busy_worker(driver_pid: int, wait_s: float = 2.0, task: str = "") -> psutil.Process | None:
    """A Ray worker process of this driver that is running a task (`task`, if given) now: `ray::<task>`."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        for p in psutil.Process(driver_pid).children(recursive=True):
            if (title := _busy_title(p)) and task in title:
                return p
        time.sleep(0.005)
    return None


def _busy_title(p: psutil.Process) -> str | None:
    """`ray::<task>` for a Ray worker running a task now, else None."""
    try:
        title = " ".join(p.cmdline())
    except psutil.Error:
        return None
    busy = title.startswith("ray::") and "IDLE" not in title and "Agent" not in title
    return title.split()[0] if busy else None


def kill_driver(proc: subprocess.Popen) -> None:
    """SIGKILL the driver; its embedded Ray dies with it within seconds (any straggler of ours is killed)."""
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(children, timeout=15)
    for p in alive:
        p.kill()
