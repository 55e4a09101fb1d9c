"""Read + extract + language ID throughput: our per-file pass against datatrove 0.10.1, same WARC, same run.

    .venv/bin/python bench/bench_extract.py     # builds bench/out/bench.warc.gz and the datatrove venv if missing

What is compared (one process each, documents per second on one core):
  ours       `pipeline.filepass.process_file` over the WARC: fastwarc -> trafilatura 2.3.1 (favor_precision,
             1 s CPU-time limit, SIGPROF) -> fastText lid.176.ftz (en >= 0.65) -> Parquet (zstd).
  datatrove  `WarcReader -> Trafilatura(favour_precision=True, deduplicate=False, timeout=1) ->
             LanguageFilter(["en"], 0.65) -> JsonlWriter` under `LocalPipelineExecutor(tasks=1, workers=1)`,
             in its own venv (bench/out/venv-datatrove), same trafilatura version, same .ftz model file
             (see datatrove_side.py for how it is loaded offline).
  ours+Ray   (optional, on by default) `python -m pipeline run` with an embedded Ray of 2 CPUs over the same
             records split into 4 files: wall docs/s of the whole command, Ray start-up included.

Our recipe is stages.yaml cut to its `read`, `extract` and `language` stages (their settings as written there),
saved as bench/out/stages-bench.yaml: the quality filters that later issues add are not part of this
comparison (`--all-stages` runs the whole stages.yaml on our side, for information).

Both sides run as fresh subprocesses, one after the other (never at the same time: the machine has 2 cores),
alternating which goes first from round to round. docs/s = response records in the WARC / seconds of the
timed region (pipeline start to outputs closed; interpreter start and imports excluded, model loading
included). CPU seconds are the subprocess tree's user+sys (datatrove extracts in a child process), from
start to exit: less disturbed by other people's load than wall time, so docs per CPU-second is reported too.
The machine is shared and noisy: the ratio is taken within each round (the two runs back to back) and the
median of those ratios is reported; trust it more than any absolute figure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))  # make_bench_warc, when run as a script

OUT = BENCH / "out"
DT_VENV = OUT / "venv-datatrove"
DT_PYTHON = DT_VENV / "bin" / "python"
DT_REQUIREMENTS = [
    "datatrove==0.10.1",
    "trafilatura==2.3.1",
    "warcio==1.8.1",
    "fasttext-numpy2-wheel==0.9.2",
    "faust-cchardet==3.2.0",
    "python-magic==0.4.27",
    "fasteners==0.20",
    "orjson==3.13.0",
]
MODEL = REPO / "filters" / "assets" / "lid.176.ftz"
RAY_SHARDS, RAY_CPUS = 4, 2
BENCH_STAGES = ("read", "extract", "language")  # issue 2: what datatrove's three steps do
RESULT_TAG = "BENCH_RESULT "
# ENVIRONMENT.md: single-node Ray on loopback, no usage stats, no token auth, no cloud metadata look-ups
RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
    "AWS_EC2_METADATA_DISABLED": "true",
}


# ---------------------------------------------------------------- setup


def ensure_warc(repeat: int, need_shards: bool) -> dict:
    import make_bench_warc as mbw

    single, shards = mbw.default_path(repeat), mbw.shard_paths(repeat, RAY_SHARDS)
    info_path = single.with_suffix(".json")
    if single.exists() and info_path.exists() and (not need_shards or all(p.exists() for p in shards)):
        return json.loads(info_path.read_text())
    mbw.require_data()
    print(f"building {single} (real pages from {mbw.HTML_EVAL}) ...", flush=True)
    info = mbw.build(repeat, RAY_SHARDS if need_shards else 0)
    info_path.write_text(json.dumps(info, indent=1))
    return info


def ensure_datatrove_venv() -> None:
    if DT_PYTHON.exists():
        return
    print(f"creating {DT_VENV} (pip install {' '.join(DT_REQUIREMENTS)}) ...", flush=True)
    subprocess.run(["python3.11", "-m", "venv", str(DT_VENV)], check=True)
    subprocess.run([str(DT_PYTHON), "-m", "pip", "install", "-q", *DT_REQUIREMENTS], check=True)


def fresh_dir(path: Path, subdirs: tuple[str, ...] = ()) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    for sub in subdirs or ("",):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def bench_config(all_stages: bool) -> Path:
    """stages.yaml, or a copy of it cut to the read/extract/language stages (settings kept as written)."""
    import yaml

    source = REPO / "stages.yaml"
    if all_stages:
        return source
    recipe = yaml.safe_load(source.read_text())
    recipe["stages"] = [s for s in recipe["stages"] if s["stage"] in BENCH_STAGES]
    missing = set(BENCH_STAGES) - {s["stage"] for s in recipe["stages"]}
    if missing:
        sys.exit(f"{source} has no {sorted(missing)} stage: nothing to benchmark against datatrove")
    path = OUT / "stages-bench.yaml"
    header = f"# generated by bench/bench_extract.py from {source}: only the stages {', '.join(BENCH_STAGES)}\n"
    path.write_text(header + yaml.safe_dump(recipe, sort_keys=False))
    return path


# ---------------------------------------------------------------- the two sides, as subprocesses


def run_measured(cmd: list[str], env: dict | None = None) -> dict:
    """Run a subprocess; its BENCH_RESULT json plus wall and CPU seconds of the whole process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"FAILED ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-4000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_TAG)]
    result = json.loads(lines[-1][len(RESULT_TAG) :]) if lines else {}
    result["process_wall"] = wall
    result["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["stderr_tail"] = proc.stderr[-2000:]
    return result


def run_ours(warc: str, output: Path, config: Path) -> dict:
    fresh_dir(output, ("docs", "dropped", "stats"))
    args = ["--worker-ours", warc, "--output", str(output), "--config", str(config)]
    return run_measured([sys.executable, __file__, *args])


def run_datatrove(warc: str, output: Path, mode: str) -> dict:
    fresh_dir(output)
    args = [warc, "--model", str(MODEL), "--output", str(output), "--mode", mode]
    return run_measured([str(DT_PYTHON), str(BENCH / "datatrove_side.py"), *args])


def worker_ours(warc: str, output: str, config: str) -> None:
    """Inside the subprocess: time `process_file` alone, print its stats."""
    import importlib.metadata as md

    from pipeline.config import load
    from pipeline.filepass import process_file

    cfg = load(config).with_overrides(input=(warc,), output=output)
    started = time.perf_counter()
    stats = process_file(0, warc, cfg)
    seconds = time.perf_counter() - started
    versions = {name: md.version(name) for name in ("trafilatura", "fastwarc", "fasttext-numpy2")}
    print(RESULT_TAG + json.dumps({"seconds": seconds, "stats": stats, "versions": versions}))


def run_ray(shards: list[str], output: Path, config: Path) -> dict:
    """`python -m pipeline run` over the shards with an embedded 2-CPU Ray, kept off the network."""
    shutil.rmtree(output, ignore_errors=True)
    env = dict(os.environ, **RAY_ENV)
    cmd = [sys.executable, "-m", "pipeline", "run", str(config), "--input", *shards]
    cmd += ["--output", str(output), "--num-cpus", str(RAY_CPUS)]
    if shutil.which("ip") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        cmd = ["unshare", "-n", "bash", "-c", 'ip link set lo up && exec "$@"', "bash", *cmd]
    else:  # ENVIRONMENT.md: Ray's agent probes the cloud metadata address; send HTTP(S) to a dead port
        dead = "http://127.0.0.1:9"
        env.update(HTTP_PROXY=dead, HTTPS_PROXY=dead, NO_PROXY="127.0.0.1,localhost,::1")
    result = run_measured(cmd, env)
    report = json.loads((output / "report.json").read_text())
    result["seconds"] = result["process_wall"]
    result["totals"] = report["totals"]
    return result


# ---------------------------------------------------------------- comparing the kept documents


def ours_kept(output: Path) -> dict[str, str]:
    import pyarrow.parquet as pq

    table = pq.read_table(output / "docs" / "part-000000.parquet", columns=["id", "text"])
    return dict(zip(table.column("id").to_pylist(), table.column("text").to_pylist()))


def datatrove_kept(output: Path) -> dict[str, str]:
    kept = {}
    for path in sorted((output / "docs").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                doc = json.loads(line)
                kept[doc["id"]] = doc["text"]
    return kept


def compare_kept(ours: dict[str, str], theirs: dict[str, str]) -> dict:
    both = ours.keys() & theirs.keys()
    same_text = sum(ours[i].strip() == theirs[i].strip() for i in both)
    return {
        "ours": len(ours),
        "datatrove": len(theirs),
        "both": len(both),
        "only_ours": len(ours.keys() - both),
        "only_datatrove": len(theirs.keys() - both),
        "same_text": same_text,
    }


# ---------------------------------------------------------------- report


def stage_seconds_ours(result: dict) -> dict[str, float]:
    return {s["name"]: s["seconds"] for s in result["stats"]["stages"]}


def stage_seconds_datatrove(result: dict) -> dict[str, float]:
    names = {"Warc": "read", "Trafilatura": "extract", "Language": "language", "Jsonl": "write"}
    out = {}
    for step, data in result["steps"].items():
        short = next((v for k, v in names.items() if k in step), step)
        out[short] = data["seconds"]
    return out


def datatrove_counts(result: dict) -> dict[str, int]:
    steps = {k.split(":")[-1].strip(): v["counts"] for k, v in result["steps"].items()}
    return {
        "reader_docs": steps.get("🕷 Warc", {}).get("documents", 0),
        "extract_dropped": steps.get("⛏ Trafilatura", {}).get("dropped", 0),
        "extract_timeout": steps.get("⛏ Trafilatura", {}).get("timeout", 0),
        "language_dropped": steps.get("🌍 Language ID", {}).get("dropped", 0),
        "kept": steps.get("🌍 Language ID", {}).get("forwarded", 0),
    }


def print_round(n: int, docs: int, ours: dict, dt: dict) -> None:
    o, d = docs / ours["seconds"], docs / dt["seconds"]
    print(
        f"round {n}: ours {o:6.1f} docs/s ({ours['seconds']:.1f} s, {ours['cpu']:.1f} CPU-s)   "
        f"datatrove {d:6.1f} docs/s ({dt['seconds']:.1f} s, {dt['cpu']:.1f} CPU-s)   ratio {o / d:.2f}",
        flush=True,
    )


def summarize(info: dict, rounds: list[tuple[dict, dict]], ray: dict | None, kept: dict) -> dict:
    docs = info["responses"]
    ours_rates = [docs / o["seconds"] for o, _ in rounds]
    dt_rates = [docs / d["seconds"] for _, d in rounds]
    last_ours, last_dt = rounds[-1]
    summary = {
        "warc": info,
        "rounds": len(rounds),
        "ours_docs_per_s": ours_rates,
        "datatrove_docs_per_s": dt_rates,
        "ratio_per_round": [o / d for o, d in zip(ours_rates, dt_rates)],
        "cpu_ratio_per_round": [d["cpu"] / o["cpu"] for o, d in rounds],
        "ours_docs_per_cpu_s": [docs / o["cpu"] for o, _ in rounds],
        "datatrove_docs_per_cpu_s": [docs / d["cpu"] for _, d in rounds],
        "ours_stage_seconds": stage_seconds_ours(last_ours),
        "datatrove_step_seconds": stage_seconds_datatrove(last_dt),
        "ours_counts": {k: last_ours["stats"][k] for k in ("records_read", "kept", "dropped", "errors")},
        "datatrove_counts": datatrove_counts(last_dt),
        "datatrove_mode": last_dt.get("mode"),
        "kept_comparison": kept,
        "versions": {"ours": last_ours["versions"], "datatrove": last_dt.get("versions")},
    }
    if ray:
        # no CPU figure: Ray's workers are children of its raylet, not of our subprocess, so rusage misses them
        summary["ray"] = {
            "files": RAY_SHARDS,
            "cpus": RAY_CPUS,
            "wall_s": ray["seconds"],
            "docs_per_s": ray["totals"]["records_read"] / ray["seconds"],
            "kept": ray["totals"]["kept"],
        }
    return summary


def print_summary(s: dict) -> None:
    med = statistics.median
    o, d = med(s["ours_docs_per_s"]), med(s["datatrove_docs_per_s"])
    w = s["warc"]
    print(
        f"\nWARC {w['path']}: {w['responses']} pages, {w['bytes'] / 1e6:.1f} MB gzipped, "
        f"{w['html_bytes'] / 1e6:.1f} MB HTML; {s['rounds']} round(s), medians below"
    )
    print(f"{'':28}{'docs/s (1 core)':>16}{'docs/CPU-s':>12}{'kept':>7}")
    print(f"{'ours (process_file)':28}{o:16.1f}{med(s['ours_docs_per_cpu_s']):12.1f}{s['ours_counts']['kept']:7d}")
    print(
        f"{'datatrove 0.10.1 (' + s['datatrove_mode'] + ')':28}{d:16.1f}"
        f"{med(s['datatrove_docs_per_cpu_s']):12.1f}{s['datatrove_counts']['kept']:7d}"
    )
    if "ray" in s:
        r = s["ray"]
        print(
            f"{'ours + Ray, 2 CPUs, 4 files':28}{r['docs_per_s']:16.1f}{'n/a':>12}{r['kept']:7d}"
            f"   (wall {r['wall_s']:.1f} s, Ray start included; {r['docs_per_s'] / RAY_CPUS:.1f} per CPU)"
        )
    ratios = ", ".join(f"{r:.2f}" for r in s["ratio_per_round"])
    cpu_ratios = ", ".join(f"{r:.2f}" for r in s["cpu_ratio_per_round"])
    print(f"ratio ours/datatrove, wall docs/s: {med(s['ratio_per_round']):.2f} (median of the rounds: {ratios})")
    print(
        f"ratio ours/datatrove, docs/CPU-s:  {med(s['cpu_ratio_per_round']):.2f} (median of the rounds: {cpu_ratios})"
    )
    print("stage seconds, ours:      " + ", ".join(f"{k} {v:.1f}" for k, v in s["ours_stage_seconds"].items()))
    print("step seconds, datatrove:  " + ", ".join(f"{k} {v:.1f}" for k, v in s["datatrove_step_seconds"].items()))
    print(f"ours drops: {s['ours_counts']['dropped']}; errors: {s['ours_counts']['errors']}")
    print(f"datatrove counts: {s['datatrove_counts']}")
    print(f"kept documents compared by WARC-Record-ID: {s['kept_comparison']}")
    print("1-min load average before and after each round: " + ", ".join(f"{x:.1f}" for x in s["load_average_1min"]))


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="benchmark WARC with every page N times")
    parser.add_argument("--rounds", type=int, default=2, help="ours/datatrove pairs, alternating order")
    parser.add_argument("--datatrove-mode", choices=("executor", "chain"), default="executor")
    parser.add_argument("--no-ray", action="store_true", help="skip the `python -m pipeline run` (Ray) row")
    parser.add_argument("--all-stages", action="store_true", help="our side runs all of stages.yaml")
    parser.add_argument("--worker-ours", metavar="WARC", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_ours:
        return worker_ours(args.worker_ours, args.output, args.config)

    info = ensure_warc(args.repeat, need_shards=not args.no_ray)
    ensure_datatrove_venv()
    config = bench_config(args.all_stages)
    print(f"our recipe: {config}", flush=True)
    warc, runs = info["path"], OUT / "runs"
    rounds, loads = [], [os.getloadavg()[0]]
    for n in range(1, args.rounds + 1):
        first_ours = n % 2 == 1
        order = ("ours", "datatrove") if first_ours else ("datatrove", "ours")
        got = {}
        for side in order:
            if side == "ours":
                got[side] = run_ours(warc, runs / "ours", config)
            else:
                got[side] = run_datatrove(warc, runs / "datatrove", args.datatrove_mode)
        print_round(n, info["responses"], got["ours"], got["datatrove"])
        loads.append(os.getloadavg()[0])
        rounds.append((got["ours"], got["datatrove"]))
    kept = compare_kept(ours_kept(runs / "ours"), datatrove_kept(runs / "datatrove"))
    ray = None if args.no_ray else run_ray(info["shards"], runs / "ray", config)
    summary = summarize(info, rounds, ray, kept)
    summary["load_average_1min"] = loads  # before round 1, after each round: 2 means both cores already busy
    print_summary(summary)
    (OUT / "bench_extract.json").write_text(json.dumps(summary, indent=1))
    print(f"\nfull results: {OUT / 'bench_extract.json'}")


if __name__ == "__main__":
    main()
