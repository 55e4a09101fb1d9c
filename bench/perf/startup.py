"""Where the start-up of a small run goes (issue 13 item 7): `python -m pipeline run stages.yaml` on the bundled
fixtures (6 files, 29 records) takes tens of seconds for a few milliseconds of work per record.

    .venv/bin/python -m bench.perf.startup                  # everything below, 3 repeats of the whole run
    .venv/bin/python -m bench.perf.startup --only e2e --variant base=/tmp/wt-a --variant new=/tmp/wt-b
    .venv/bin/python -m bench.perf.startup --only e2e "--variant=one-cpu=/tmp/wt-b::--num-cpus 1"

A variant is a checkout (a `git worktree` with a candidate change), with extra `run` arguments after `::`; the
runs of several variants are interleaved so that a change in the machine's load falls on all of them alike.

Parts (each in a fresh process, so nothing is warm that a real run would not have warm):
- e2e: the real command (`python -m pipeline run stages.yaml --output TMP`) N times: wall seconds to each
  milestone of its output (Ray started, first and last file committed, each corpus stage, done, exit) and the
  CPU-seconds of its whole process tree (driver, GCS, raylet, every worker), sampled from /proc.
- run: the real engine (`pipeline.engine.run`) in-process with timers around `_init_ray`, each corpus step and,
  inside the workers, each file task (its imports, each stage build, the rest), plus `ray.timeline()`.
- imports: `python -X importtime` of what a file worker imports, by top-level package.
- loads: each per-file stage built in a fresh process after its imports (the model loads), then every fixture
  file through `process_file` in-process, cold and warm, with the hottest functions of a cProfile.
`--root` measures another checkout (a worktree with a candidate change: its packages first on the path of every
process measured, common.in_code); `--json` keeps the numbers.

What it found (2 cores shared with other jobs, load 12-22, so read the CPU-seconds first): of ~23 CPU-s for the
fixture run, the per-file work is 0.6-0.9; Ray's own processes take ~6 (GCS, raylet, dashboard API server,
dashboard and runtime-env agents, log monitor, autoscaler monitor; ray.init ~4 s on an idle machine, 20-40 s
here); each file worker's first task spends ~2.9 CPU-s parsing the url_filter blocklist and ~1.5 importing
scikit-learn (alt-profanity-check's pickles), and every CPU gets such a worker; the ProgressBoard actor is one more
worker process (~1.2). The 16 corpus steps (41 tasks) take ~1-2 s: workers are reused across steps and stages are
cached per worker (pipeline/steps.py `built_stage`).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import importlib
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import REPO, children_cpu_s, in_code, markdown_table

# What a file worker imports while building the per-file stages (lazily, inside the stages' constructors).
WORKER_IMPORTS = (
    "pyarrow.parquet",
    "xxhash",
    "tldextract",
    "trafilatura",
    "fasttext",
    "sklearn",
    "profanity_check",
    "kenlm",
)
CORPUS_IMPORTS = ("sentencepiece",)  # the tokenize stage's, in a corpus task
MILESTONES = (
    ("ray started", re.compile(r"started a local Ray instance")),
    ("first file committed", re.compile(r"^\[1/\d+ files\]")),
    ("last file committed", re.compile(r"^\[(\d+)/\1 files\]")),
    ("corpus stage committed", re.compile(r"^\w+: committed \d+ parts")),
    ("done line", re.compile(r"^done: ")),
)
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- CPU-seconds of a process tree, from /proc


def _stat(pid: str) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds, start tick) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK, int(fields[19])


class TreeCPU:
    """Samples /proc every `every_s` and keeps each descendant's last CPU time (a process that lives less than
    `every_s` can be missed: Ray's are long-lived). Descendants stay counted after their parent dies."""

    def __init__(self, root_pid: int, every_s: float = 0.2):
        self.root, self.every_s = root_pid, every_s
        self.cpu: dict[tuple[int, int], float] = {}  # (pid, start tick) -> CPU seconds
        self.kind: dict[tuple[int, int], str] = {}  # (pid, start tick) -> what the process is (see _kind)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.every_s)

    def sample(self) -> None:
        known = {pid for pid, _ in self.cpu} | {self.root}
        stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(p))}
        grew = True
        while grew:  # a child of a known process is known (repeat: the listing is in pid order, not tree order)
            grew = False
            for pid, (ppid, cpu, start) in stats.items():
                if ppid in known and pid not in known:
                    known.add(pid)
                    grew = True
        for pid in known:
            if pid in stats:
                key = (pid, stats[pid][2])
                self.cpu[key] = stats[pid][1]
                if self.kind.get(key, "worker") == "worker":  # a worker may name itself later (ray::ProgressBoard)
                    self.kind[key] = _kind(pid, pid == self.root) or self.kind.get(key, "worker")

    def total(self) -> float:
        self.stop.set()
        self.thread.join()
        return sum(self.cpu.values())

    def by_kind(self) -> dict[str, float]:
        kinds: dict[str, float] = {}
        for key, seconds in self.cpu.items():
            kinds[self.kind[key]] = kinds.get(self.kind[key], 0.0) + seconds
        return dict(sorted(kinds.items(), key=lambda kv: -kv[1]))


def _kind(pid: int, is_root: bool) -> str | None:
    """A process of a run, by its command line: the driver, a Ray daemon by its program or script, or a worker
    (None while the command line cannot be read: a process starting, or a zombie)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = [a for a in f.read().decode(errors="replace").split("\0") if a]
    except OSError:
        return None
    if not args:
        return None
    if is_root:
        return "driver"
    if args[0].startswith("ray::"):  # a worker or agent that set its title: ray::IDLE, ray::process_file...
        return args[0] if "Agent" in args[0] or "ProgressBoard" in args[0] else "worker"
    program = Path(args[0]).name
    if program.startswith("python"):
        program = next((Path(a).name for a in args[1:] if not a.startswith("-")), program)
    return "worker" if program in ("default_worker.py", "setup_worker.py") else program


# ---------------------------------------------------------------- e2e: the real command


def e2e_once(root: Path, run_args: tuple[str, ...] = ()) -> dict:
    with tempfile.TemporaryDirectory(prefix="startup-e2e-") as tmp:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(root)}
        cmd = [sys.executable, "-m", "pipeline", "run", "stages.yaml", "--output", str(Path(tmp) / "out"), *run_args]
        load = os.getloadavg()[0]
        cpu_before = children_cpu_s()
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        tree = TreeCPU(proc.pid)
        marks: dict[str, float] = {}
        output: list[str] = []
        for line in proc.stdout:
            output.append(line)
            now = time.monotonic() - started
            for name, pattern in MILESTONES:
                if pattern.search(line):
                    marks[name] = now  # the last match: the last corpus stage
        rc = proc.wait()
        marks["exit"] = time.monotonic() - started
        cpu_tree = tree.total()
        cpu_reaped = children_cpu_s() - cpu_before
        if rc != 0:  # counted, left out of the medians, its output shown (on a loaded machine ray.init can time out)
            print(f"{' '.join(cmd)} (in {root}) exited {rc}:\n{''.join(output[-12:])}", file=sys.stderr)
            return {"failed": rc, "load_1min_at_start": load}
        digest = output_digest(Path(tmp) / "out")
    # The tree sample misses what a process did after the last sample; the reaped children's counts are exact
    # for what was reaped (the driver and whatever it waited for): report the larger.
    return {
        "marks": marks,
        "cpu_s": max(cpu_tree, cpu_reaped),
        "cpu_by_process": tree.by_kind(),
        "load_1min_at_start": load,
        "output_digest": digest,
    }


def output_digest(out: Path) -> str:
    """sha256 of what a run writes that holds no timing: every Parquet file and the token manifest."""
    digest = hashlib.sha256()
    for path in sorted(out.rglob("*")):
        if path.suffix == ".parquet" or path.match("tokens/*.json"):
            digest.update(str(path.relative_to(out)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def e2e(variants: dict[str, tuple[Path, tuple[str, ...]]], repeat: int) -> dict:
    """Each variant (a checkout and extra `run` arguments) `repeat` times, interleaved (A B A B...) so that a
    change in the machine's load falls on every variant alike; medians per variant."""
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, (root, run_args) in variants.items():
            runs[name].append(e2e_once(root, run_args))
    return {name: _medians(rs) for name, rs in runs.items()}


def _medians(all_runs: list[dict]) -> dict:
    runs = [r for r in all_runs if "failed" not in r]
    if not runs:
        return {"runs": all_runs, "failed_runs": len(all_runs)}
    names = [n for n, _ in MILESTONES] + ["exit"]
    kinds = dict.fromkeys(k for r in runs for k in r["cpu_by_process"])
    return {
        "runs": all_runs,
        "failed_runs": len(all_runs) - len(runs),
        "median_marks": {n: statistics.median(r["marks"][n] for r in runs) for n in names},
        "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "median_cpu_by_process": {k: statistics.median(r["cpu_by_process"].get(k, 0.0) for r in runs) for k in kinds},
        "loads": [r["load_1min_at_start"] for r in all_runs],
        "output_digests": sorted({r["output_digest"] for r in runs}),
    }


# ---------------------------------------------------------------- run: the engine in-process, instrumented


def _process_start_epoch() -> float:
    with open("/proc/self/stat") as f:
        start_tick = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/stat") as f:
        boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    return boot + start_tick / CLK_TCK


def timed_process_file(log_path: str, heavy: tuple[str, ...]):
    """`process_file` with timers, for the engine to run as its file task (cloudpickle sends it by value: it
    imports the pipeline lazily, so the worker's imports are timed here, not hidden in deserialization)."""

    def process_file(file_index, path, config, progress=None):
        import importlib as il
        import json as js
        import os as o
        import sys as s
        import time as t

        entered, cpu0 = t.time(), t.process_time()
        task_no = getattr(s, "_startup_bench_tasks", 0) + 1
        s._startup_bench_tasks = task_no
        phases: list[tuple[str, float]] = []

        def timed(name, fn):
            began = t.perf_counter()
            value = fn()
            phases.append((name, t.perf_counter() - began))
            return value

        filepass = timed("import pipeline.filepass", lambda: il.import_module("pipeline.filepass"))
        steps = il.import_module("pipeline.steps")
        registry = il.import_module("core.registry")
        timed("import stage modules", registry.load_stage_modules)
        for module in heavy:
            try:
                timed(f"import {module}", lambda m=module: il.import_module(m))
            except ImportError:  # a checkout whose recipe does not use it
                pass
        real = getattr(steps.built_stage, "_startup_bench_real", steps.built_stage)

        def built_stage(name, cfg):
            hits = real.cache_info().hits
            began = t.perf_counter()
            stage = real(name, cfg)
            if real.cache_info().hits == hits:
                phases.append((f"build {name}", t.perf_counter() - began))
            return stage

        built_stage._startup_bench_real = real
        steps.built_stage = built_stage
        began = t.perf_counter()
        result = filepass.process_file(file_index, path, config, progress)
        inner = t.perf_counter() - began
        builds = sum(d for n, d in phases if n.startswith("build "))
        phases.append(("per-file work", inner - builds))
        record = {
            "pid": o.getpid(),
            "task_no": task_no,
            "file": path,
            "process_started": _start_epoch(),
            "entered": entered,
            "left": t.time(),
            "cpu_s": t.process_time() - cpu0,
            "phases": phases,
        }
        with open(log_path, "a") as f:
            f.write(js.dumps(record) + "\n")
        return result

    _start_epoch = _process_start_epoch
    return process_file


def instrumented_run(root: Path, out_json: Path) -> None:
    """In a fresh process: the engine over the fixtures, timing what the driver and the workers do."""
    marks = {"process started": _process_start_epoch(), "bench main": time.time()}
    os.chdir(root)  # its packages come first on the path already (_in_fresh_process)
    import ray

    from core import corpus
    from pipeline import config as config_mod
    from pipeline import engine

    marks["pipeline imported"] = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="startup-run-"))
    config = config_mod.load(root / "stages.yaml").with_overrides(output=str(tmp / "out"))
    log = tmp / "tasks.jsonl"
    engine.process_file = timed_process_file(str(log), WORKER_IMPORTS)
    real_init, real_step = engine._init_ray, corpus.CorpusContext.step
    steps: list[dict] = []

    def init_ray(*args):
        if not ray.is_initialized():
            marks["ray.init start"] = time.time()
            real_init(*args)
            marks["ray.init end"] = time.time()
        real_init(*args)

    def step(self, name, fn, args_list):
        began = time.time()
        results = real_step(self, name, fn, args_list)
        steps.append(
            {"stage": self.dirs.name, "step": name, "tasks": len(args_list), "start": began, "end": time.time()}
        )
        return results

    engine._init_ray, corpus.CorpusContext.step = init_ray, step
    lines: list[tuple[float, str]] = []
    result = engine.run(config, echo=lambda line: lines.append((time.time(), line)))
    marks["run returned"] = time.time()
    time.sleep(2.5)  # task events reach the GCS about every second
    timeline = [
        {"cat": e["cat"], "tid": e["tid"], "ts": e["ts"] / 1e6, "dur": e["dur"] / 1e6}
        for e in ray.timeline()
        if e.get("ph") == "X" and e["cat"].startswith("task")
    ]
    began = time.time()
    ray.shutdown()
    marks["ray.shutdown s"] = time.time() - began
    tasks = [json.loads(line) for line in log.read_text().splitlines()]
    data = {"marks": marks, "steps": steps, "lines": lines, "tasks": tasks, "timeline": timeline}
    data["exit_code"] = result.exit_code
    out_json.write_text(json.dumps(data))


def summarize_run(data: dict) -> list[tuple[str, float, str]]:
    """(what, seconds, note) rows: the driver's timeline, then the workers' first and later tasks."""
    m = data["marks"]
    t0 = m["process started"]
    first_file = min(t for t, line in data["lines"] if line.startswith("[1/"))
    last_file = max(t for t, line in data["lines"] if re.match(r"\[(\d+)/\1 files\]", line))
    tasks = sorted(data["tasks"], key=lambda r: r["entered"])
    rows = [
        ("driver: python start + import pipeline, ray", m["pipeline imported"] - t0, ""),
        ("driver: config, inputs, output folders", m["ray.init start"] - m["pipeline imported"], ""),
        ("ray.init (embedded)", m["ray.init end"] - m["ray.init start"], ""),
        (
            "ray.init end -> first file task starts",
            tasks[0]["entered"] - m["ray.init end"],
            "worker start, scheduling",
        ),
        ("first file task starts -> first file committed", first_file - tasks[0]["entered"], ""),
        ("files phase (ray.init end -> last file)", last_file - m["ray.init end"], f"{len(tasks)} tasks"),
    ]
    for pid in sorted({r["pid"] for r in tasks}):
        mine = [r for r in tasks if r["pid"] == pid]
        first = mine[0]
        rows.append(
            (f"worker {pid}: process start -> its first task", first["entered"] - first["process_started"], "")
        )
        for name, seconds in first["phases"]:
            rows.append((f"  first task: {name}", seconds, ""))
        rows.append((f"  first task: total (CPU {first['cpu_s']:.2f} s)", first["left"] - first["entered"], ""))
        later = [r["left"] - r["entered"] for r in mine[1:]]
        if later:
            rows.append((f"  later tasks: {len(later)}, total", sum(later), "models cached in the worker"))
    corpus_start = min(s["start"] for s in data["steps"])
    corpus_end = max(s["end"] for s in data["steps"])
    execute = [e for e in data["timeline"] if e["cat"] == "task:execute"]
    in_corpus = [e for e in execute if corpus_start <= e["ts"] <= corpus_end]
    busy = sum(e["dur"] for e in in_corpus)
    rows.append(
        (
            f"corpus stages: {len(data['steps'])} steps, {sum(s['tasks'] for s in data['steps'])} tasks",
            corpus_end - corpus_start,
            f"tasks executing {busy:.2f} s in all",
        )
    )
    for stage in dict.fromkeys(s["stage"] for s in data["steps"]):
        mine = [s for s in data["steps"] if s["stage"] == stage]
        rows.append((f"  {stage}: {len(mine)} steps", sum(s["end"] - s["start"] for s in mine), ""))
    named = [e for e in data["timeline"] if e["cat"].startswith("task::") and "ProgressBoard" not in e["cat"]]
    file_workers = {e["tid"] for e in named if e["cat"] == "task::process_file"}
    first_deserialize: dict[str, float] = {}
    for e in sorted(data["timeline"], key=lambda e: e["ts"]):
        if e["cat"] == "task:deserialize_arguments" and e["tid"] in file_workers:
            first_deserialize.setdefault(e["tid"], e["dur"])
    rows.append(
        (
            "first file task of each worker: deserializing its arguments (imports pipeline + stage modules)",
            max(first_deserialize.values()),
            "each worker: " + ", ".join(f"{d:.2f}" for d in first_deserialize.values()),
        )
    )
    corpus_workers = {e["tid"] for e in named if e["cat"] != "task::process_file"}
    rows.append(
        (
            f"worker processes: {len(file_workers)} ran file tasks, {len(corpus_workers)} corpus tasks",
            0.0,
            f"{len(file_workers & corpus_workers)} did both (workers are reused across tasks and steps)",
        )
    )
    rows.append(("report + run returns", m["run returned"] - corpus_end, ""))
    rows.append(("ray.shutdown", m["ray.shutdown s"], ""))
    return rows


# ---------------------------------------------------------------- imports, model loads, per-file work


def import_profile(root: Path) -> list[tuple[str, float, float]]:
    """What a file worker imports (ray first: a worker has it), by top-level package: (package, seconds of its own
    modules, seconds of its top-level imports with everything they pulled in). From `python -X importtime`."""
    code = "import ray, pipeline.filepass, core.registry as r; r.load_stage_modules()\n"
    modules = WORKER_IMPORTS + CORPUS_IMPORTS
    code += "".join(f"try:\n    import {m}\nexcept ImportError:\n    pass\n" for m in modules)
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    own: dict[str, float] = {}
    cumulative: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", line)
        if not match:
            continue
        package = match.group(4).split(".")[0]
        own[package] = own.get(package, 0.0) + int(match.group(1)) / 1e6
        if not match.group(3):  # imported at the top level: its cumulative time counts once
            cumulative[package] = cumulative.get(package, 0.0) + int(match.group(2)) / 1e6
    rows = [(p, seconds, cumulative.get(p, 0.0)) for p, seconds in own.items()]
    return sorted(rows, key=lambda row: -row[1])


def loads_and_work(root: Path, out_json: Path) -> None:
    """In a fresh process: imports, then each per-file stage built (wall and CPU), then process_file over every
    fixture file twice (cold: the stage cache is empty; warm), with a cProfile of the warm pass."""
    os.chdir(root)  # its packages come first on the path already (_in_fresh_process)
    rows: list[tuple[str, float, float]] = []

    def timed(name, fn):
        wall, cpu = time.perf_counter(), time.process_time()
        value = fn()
        rows.append((name, time.perf_counter() - wall, time.process_time() - cpu))
        return value

    timed("import pipeline.filepass + stage modules", lambda: importlib.import_module("pipeline.filepass"))
    from core.registry import REGISTRY
    from pipeline import config as config_mod
    from pipeline import filepass, steps
    from pipeline.inputs import expand_inputs
    from tokenization.tokenizer import cached_tokenizer

    timed("load stage modules", REGISTRY.names)
    for module in WORKER_IMPORTS + CORPUS_IMPORTS:
        try:
            timed(f"import {module}", lambda m=module: importlib.import_module(m))
        except ImportError:
            pass
    tmp = Path(tempfile.mkdtemp(prefix="startup-loads-"))
    config = config_mod.load(root / "stages.yaml")
    for spec in config.stages:
        if REGISTRY.get(spec.name).kind == "map":
            timed(f"build {spec.name}", lambda s=spec: steps.built_stage(s.name, s.config))
    token_cfg = next(s.config for s in config.stages if s.name == "tokenize")
    timed("load tokenizer (tokenize stage)", lambda: cached_tokenizer(token_cfg.tokenizer_path, token_cfg.specials))
    files = expand_inputs(config.options.input, config.options.paths_base_url)
    for name in ("cold", "warm"):
        cfg = config.with_overrides(output=str(tmp / name))
        if name == "cold":
            timed(
                "process_file x 6 (stages built above)",
                lambda c=cfg: [filepass.process_file(i, f, c) for i, f in enumerate(files)],
            )
            continue
        profile = cProfile.Profile()
        timed(
            "process_file x 6 again",
            lambda c=cfg: profile.runcall(lambda: [filepass.process_file(i, f, c) for i, f in enumerate(files)]),
        )
    stats = pstats.Stats(profile)
    hot = sorted(stats.stats.items(), key=lambda kv: -kv[1][3])  # cumulative time
    top = [(f"{Path(k[0]).name}:{k[1]}({k[2]})", v[3]) for k, v in hot if "startup.py" not in k[0]][:15]
    out_json.write_text(json.dumps({"rows": rows, "profile_top": top}))


# ---------------------------------------------------------------- main


def _in_fresh_process(flag: str, root: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        out = Path(tmp) / "out.json"
        cmd, env = in_code(root, __spec__.name, flag, str(out), "--root", str(root))
        subprocess.run(cmd, env={**env, "PYTHONUNBUFFERED": "1"}, check=True)
        return json.loads(out.read_text())


def _variant(text: str) -> tuple[str, tuple[Path, tuple[str, ...]]]:
    """NAME=ROOT or NAME=ROOT::ARGS (extra `run` arguments, split on spaces)."""
    name, _, rest = text.partition("=")
    root, _, run_args = rest.partition("::")
    return name, (Path(root).resolve(), tuple(run_args.split()))


def _print_e2e(e2e_results: dict, repeat: int) -> None:
    for name in [n for n, r in e2e_results.items() if "median_marks" not in r]:
        print(f"\n{name}: every run failed")
    e2e_results = {n: r for n, r in e2e_results.items() if "median_marks" in r}
    names = list(e2e_results)
    rows = [
        (mark, *(e2e_results[n]["median_marks"][mark] for n in names))
        for mark in next(iter(e2e_results.values()))["median_marks"]
    ]
    rows.append(("CPU-seconds, whole process tree", *(e2e_results[n]["median_cpu_s"] for n in names)))
    rows.append(("runs failed (left out)", *(e2e_results[n]["failed_runs"] for n in names)))
    rows.append(
        ("1-min load at the runs' starts", *(", ".join(f"{x:.1f}" for x in e2e_results[n]["loads"]) for n in names))
    )
    rows.append(
        ("outputs (sha256 of Parquet + token manifest)", *(" ".join(e2e_results[n]["output_digests"]) for n in names))
    )
    _print_table(f"`python -m pipeline run stages.yaml`: seconds since start, median of {repeat}", rows, ("", *names))
    kinds = dict.fromkeys(k for n in names for k in e2e_results[n]["median_cpu_by_process"])
    rows = [(k, *(e2e_results[n]["median_cpu_by_process"].get(k, 0.0) for n in names)) for k in kinds]
    _print_table("CPU-seconds by process, median", rows, ("process", *names))


def _print_table(title: str, rows, header=("what", "seconds")) -> None:
    print(f"\n## {title}\n")
    print(markdown_table(header, [[f"{c:.2f}" if isinstance(c, float) else c for c in row] for row in rows]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=REPO, help="the checkout to measure (default: this one)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the whole command (median reported)")
    parser.add_argument("--only", choices=("e2e", "run", "imports", "loads"), action="append")
    parser.add_argument("--json", type=Path, help="also write every number here")
    parser.add_argument(
        "--variant",
        action="append",
        metavar="NAME=ROOT[::ARGS]",
        help="e2e: compare checkouts (and extra `run` arguments), runs interleaved; default: --root alone",
    )
    parser.add_argument("--_run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_loads", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = args.root.resolve()
    if args._run:
        instrumented_run(root, args._run)
        return 0
    if args._loads:
        loads_and_work(root, args._loads)
        return 0
    parts = args.only or ["run", "imports", "loads", "e2e"]
    print(f"# startup bench: {root} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    results: dict = {"root": str(root), "load_start": os.getloadavg()}
    if "run" in parts:
        results["run"] = _in_fresh_process("--_run", root)
        _print_table(
            "the engine in-process (seconds since the driver process started)",
            summarize_run(results["run"]),
            ("what", "seconds", "note"),
        )
    if "imports" in parts:
        results["imports"] = import_profile(root)
        _print_table(
            "imports of a file worker, by top-level package (wall s)",
            results["imports"][:15],
            ("package", "its own modules", "as a top-level import, with what it pulled in"),
        )
    if "loads" in parts:
        results["loads"] = _in_fresh_process("--_loads", root)
        _print_table(
            "imports, model loads and the work, in one fresh process",
            results["loads"]["rows"],
            ("what", "wall s", "CPU s"),
        )
        _print_table("hottest functions of the warm pass (cumulative s)", results["loads"]["profile_top"])
    if "e2e" in parts:
        variants = dict(_variant(v) for v in args.variant) if args.variant else {"this": (root, ())}
        results["e2e"] = e2e(variants, args.repeat)
        _print_e2e(results["e2e"], args.repeat)
    results["load_end"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
