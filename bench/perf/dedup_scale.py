"""The whole `minhash_dedup` stage through the engine's Ray map at 100 k and 1 M documents: wall time per step,
peak RSS of every Ray worker and of the driver, and how both grow with the corpus.

    .venv/bin/python -m bench.perf.dedup_scale                          # 100 k then 1 M; bench/out/dedup_scale.json
    .venv/bin/python -m bench.perf.dedup_scale --sizes 100000 300000    # other sizes
    .venv/bin/python -m bench.perf.dedup_scale --budget-min 20          # a larger size whose estimate (from the
                                                                        # previous one) exceeds this runs smaller,
                                                                        # and is extrapolated, labelled as such

Corpus (synthetic, deterministic from --seed): N documents of 300-500 words (400 on average) drawn from a
Zipf-Mandelbrot vocabulary of 50,000 random letter strings (p ~ 1 / (rank + 2.7)^1.07), written as Parquet
parts of --docs-per-part documents (doc_id = part << 32 | row, as the engine writes them). A share --dup-rate
of the documents are near-duplicates: N * dup_rate / 2 "source" documents each get Poisson(2) variants placed
anywhere in the corpus, a variant being its source with 1-2 spans of 5-10 words replaced (5-gram J ~ 0.8-0.95).
Ideal result: exactly N * dup_rate documents removed, none of them a unique document. Generation runs in two
spawned processes before Ray starts (not timed with the stage, not in the driver's memory).

Stage: dedup.minhash_dedup.MinHashDedup with its defaults (14 x 8, partition counts from the data, no
verification unless --verify-min-jaccard), its `ctx.map` being pipeline.engine._ray_map - the engine's own
corpus-stage map, one Ray task per item, at most 4 in flight per CPU - over an embedded Ray:
ray.init(address="local", num_cpus=2, include_dashboard=False), shut down after each size so every size starts
with fresh workers.
Memory: a thread polls psutil every 0.2 s over the driver's descendants (only processes this script started):
those whose command line starts with "ray::" are workers (their title names the running task), but for Ray's
two agents (ray::DashboardAgent, ray::RuntimeEnvAgent), counted with Ray's other services (raylet, gcs_server).
Reported: max RSS per worker pid, per step, the max over time of the workers' RSS summed, and the same with the
services and the driver. RSS counts shared pages (libraries, and any object-store page a worker touched), so it
overstates what a worker owns; the target is no worker above 1.5 GB.
Scratch data goes to bench/out/dedup_scale_work/ and is deleted afterwards (unless --keep).
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import resource
import shutil
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import lru_cache
from multiprocessing import get_context
from operator import itemgetter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import OUT, RAY_ENV

SCRATCH = OUT / "dedup_scale_work"
VOCAB, ZIPF_S, ZIPF_Q, TABLE_BITS = 50_000, 1.07, 2.7, 22
MIN_WORDS, MAX_WORDS = 300, 500
FRESH, SOURCE, VARIANT = 0, 1, 2
POLL_S = 0.2
WORKER_LIMIT = 1.5e9
RAY_AGENTS = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")  # titled ray:: too, but Ray's services, not workers


@dataclass(frozen=True)
class Spec:
    n_docs: int
    docs_per_part: int
    dup_rate: float
    seed: int

    @property
    def parts(self) -> int:
        return math.ceil(self.n_docs / self.docs_per_part)

    @property
    def variants(self) -> int:
        return int(self.n_docs * self.dup_rate)

    @property
    def sources(self) -> int:
        return max(1, self.variants // 2)


# ---------------------------------------------------------------- synthetic corpus (in spawned processes)


def vocabulary(seed: int) -> list[str]:
    rng = np.random.default_rng([seed, 0])
    lengths = np.clip(rng.geometric(0.2, size=2 * VOCAB) + 1, 2, 14)
    letters = (rng.integers(0, 26, size=int(lengths.sum())) + ord("a")).astype(np.uint8).tobytes().decode()
    ends = np.cumsum(lengths)
    words = dict.fromkeys(letters[e - n : e] for e, n in zip(ends.tolist(), lengths.tolist()))
    return list(words)[:VOCAB]


def zipf_table() -> np.ndarray:
    """Word ids at 2^22 evenly spaced quantiles of the Zipf-Mandelbrot distribution: sampling is one table
    look-up (words rarer than 2^-22 never occur, so the effective vocabulary is a little under VOCAB)."""
    p = 1.0 / (np.arange(VOCAB) + ZIPF_Q) ** ZIPF_S
    cdf = np.cumsum(p / p.sum())
    quantiles = (np.arange(1 << TABLE_BITS) + 0.5) / (1 << TABLE_BITS)
    return np.minimum(np.searchsorted(cdf, quantiles), VOCAB - 1).astype(np.int32)


def sample_words(rng: np.random.Generator, shape) -> np.ndarray:
    return _table()[rng.integers(0, 1 << TABLE_BITS, shape)]


@lru_cache(maxsize=1)
def _table() -> np.ndarray:
    return zipf_table()


@lru_cache(maxsize=1)
def corpus_plan(spec: Spec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """role and source index of every document position, and the source documents (word ids, lengths)."""
    rng = np.random.default_rng([spec.seed, 1])
    order = rng.permutation(spec.n_docs)
    role = np.full(spec.n_docs, FRESH, np.int8)
    source = np.full(spec.n_docs, -1, np.int32)
    m, v = spec.sources, spec.variants
    role[order[:m]], source[order[:m]] = SOURCE, np.arange(m)
    role[order[m : m + v]], source[order[m : m + v]] = VARIANT, rng.integers(0, m, v)
    pool_rng = np.random.default_rng([spec.seed, 2])
    pool = sample_words(pool_rng, (m, MAX_WORDS))
    pool_len = pool_rng.integers(MIN_WORDS, MAX_WORDS + 1, m)
    return role, source, pool, pool_len


def variant_of(words: np.ndarray, spec: Spec, position: int) -> np.ndarray:
    """A source document with 1-2 spans of 5-10 words replaced (its own generator: deterministic per position)."""
    rng = np.random.default_rng([spec.seed, 3, position])
    words = words.copy()
    for _ in range(rng.integers(1, 3)):
        span = int(rng.integers(5, 11))
        at = int(rng.integers(0, len(words) - span))
        words[at : at + span] = sample_words(rng, span)
    return words


def generate_part(spec: Spec, index: int, folder: str) -> str:
    vocab = _vocab(spec.seed)
    role, source, pool, pool_len = corpus_plan(spec)
    lo, hi = index * spec.docs_per_part, min(spec.n_docs, (index + 1) * spec.docs_per_part)
    rng = np.random.default_rng([spec.seed, 4, index])
    fresh = sample_words(rng, (hi - lo, MAX_WORDS))
    lengths = rng.integers(MIN_WORDS, MAX_WORDS + 1, hi - lo)
    texts = []
    for row, position in enumerate(range(lo, hi)):
        if role[position] == FRESH:
            words = fresh[row, : lengths[row]]
        else:
            k = source[position]
            words = pool[k, : pool_len[k]]
            if role[position] == VARIANT:
                words = variant_of(words, spec, position)
        texts.append(" ".join(itemgetter(*words.tolist())(vocab)))
    ids = (index << 32) + np.arange(hi - lo, dtype=np.int64)
    path = os.path.join(folder, f"part-{index:06d}.parquet")
    pq.write_table(pa.table({"doc_id": ids, "text": pa.array(texts, pa.large_string())}), path, compression="zstd")
    return path


@lru_cache(maxsize=1)
def _vocab(seed: int) -> list[str]:
    return vocabulary(seed)


def generate(spec: Spec, folder: Path) -> tuple[list[tuple[int, str]], float]:
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(generate_part, spec, i, str(folder)) for i in range(spec.parts)]
        paths = [f.result() for f in futures]
    return list(enumerate(paths)), time.perf_counter() - started


# ---------------------------------------------------------------- memory polling


class RssMonitor(threading.Thread):
    """Polls the RSS of the driver and of its descendants every POLL_S seconds."""

    def __init__(self):
        super().__init__(daemon=True)
        self.driver = psutil.Process()
        self.step = "start"
        self.stop_event = threading.Event()
        self.per_pid: dict[int, dict] = {}
        self.per_step: dict[str, dict] = {}
        self.peak = {"workers_sum": 0, "all_sum": 0, "driver": 0}
        self.samples = 0
        self.cpu_s = 0.0  # this thread's own CPU: it runs in the driver, whose CPU a benchmark reports without it

    def run(self) -> None:
        while not self.stop_event.is_set():
            started = resource.getrusage(resource.RUSAGE_THREAD).ru_utime  # user time, as the driver's is counted
            self.sample()
            self.cpu_s += resource.getrusage(resource.RUSAGE_THREAD).ru_utime - started
            self.stop_event.wait(POLL_S)

    def stop(self) -> None:
        self.stop_event.set()
        self.join()
        self.sample()

    def sample(self) -> None:
        workers_sum = services_sum = 0
        step = self.per_step.setdefault(self.step, {"max_worker_rss": 0, "max_workers_sum": 0, "worker_cpu_s": 0.0})
        try:
            children = self.driver.children(recursive=True)
        except psutil.Error:
            children = []
        for proc in children:
            try:
                title = (proc.cmdline() or [proc.name()])[0]
                rss = proc.memory_info().rss
                cpu = sum(proc.cpu_times()[:2])  # user + system, since the process started
            except psutil.Error:
                continue
            is_ray_title = title.startswith("ray::") or proc.name().startswith("ray::")
            kind = "worker" if is_ray_title and not title.startswith(RAY_AGENTS) else "service"
            entry = self.per_pid.setdefault(proc.pid, {"kind": kind, "name": proc.name(), "max_rss": 0, "titles": {}})
            entry["max_rss"] = max(entry["max_rss"], rss)
            if kind == "worker":  # CPU since the last sample goes to the step running now (edges blur a little)
                step["worker_cpu_s"] += cpu - entry.get("cpu_s", 0.0)
            entry["cpu_s"] = cpu
            if kind == "worker":
                entry["titles"][title] = max(entry["titles"].get(title, 0), rss)
                workers_sum += rss
                step["max_worker_rss"] = max(step["max_worker_rss"], rss)
            else:
                services_sum += rss
        driver = self.driver.memory_info().rss
        step["max_workers_sum"] = max(step["max_workers_sum"], workers_sum)
        self.peak["workers_sum"] = max(self.peak["workers_sum"], workers_sum)
        self.peak["all_sum"] = max(self.peak["all_sum"], workers_sum + services_sum + driver)
        self.peak["driver"] = max(self.peak["driver"], driver)
        self.samples += 1

    def report(self) -> dict:
        workers = {pid: e for pid, e in self.per_pid.items() if e["kind"] == "worker"}
        services = {pid: e for pid, e in self.per_pid.items() if e["kind"] == "service"}
        return {
            "samples": self.samples,
            "workers": {
                str(pid): {"max_rss": e["max_rss"], "max_rss_by_title": e["titles"]} for pid, e in workers.items()
            },
            "max_worker_rss": max((e["max_rss"] for e in workers.values()), default=0),
            "services": {str(pid): {"name": e["name"], "max_rss": e["max_rss"]} for pid, e in services.items()},
            "per_step": self.per_step,
            "peak": self.peak,
            "monitor_cpu_s": self.cpu_s,
        }


# ---------------------------------------------------------------- the stage through the engine's Ray map


def timed_map(engine_map, monitor: RssMonitor, steps: list[dict]):
    def ray_map(fn, args_list):
        name = fn.__name__
        monitor.step = name
        started = time.perf_counter()
        results = engine_map(fn, args_list)
        steps.append({"step": name, "tasks": len(args_list), "wall_s": time.perf_counter() - started})
        monitor.step = "between steps"
        return results

    return ray_map


def run_stage(parts: list[tuple[int, str]], out: Path, verify: float) -> dict:
    import ray

    from core import corpus, storage
    from dedup.minhash_dedup import MinHashDedup, MinHashDedupConfig
    from pipeline import engine

    os.environ.update(RAY_ENV)
    cfg = MinHashDedupConfig(verify_min_jaccard=verify)
    started = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray_start = time.perf_counter() - started
    monitor = RssMonitor()
    monitor.start()
    steps: list[dict] = []
    options = SimpleNamespace(options=SimpleNamespace(max_retries=3, io_attempts=8, io_retry_delay_s=0.5))
    engine_map = engine._ray_map(options, None, 2, lambda message: None, "minhash_dedup", collections.Counter())
    name = "minhash_dedup"
    dirs = corpus.StageDirs(name, str(out), storage.join(str(out), "work", name), storage.join(str(out), "docs"))
    ctx = corpus.CorpusContext(dirs, parts, timed_map(engine_map, monitor, steps))
    fs, _ = storage.filesystem(str(out))
    try:
        stage_started = time.perf_counter()
        corpus.check_manifest(fs, ctx, cfg)
        stats = MinHashDedup(cfg).run(ctx)
        stage_s = time.perf_counter() - stage_started
    finally:
        monitor.stop()
        ray.shutdown()
    return {
        "ray_start_s": ray_start,
        "stage_s": stage_s,
        "steps": steps,
        "memory": monitor.report(),
        "docs_in": sum(s["docs_in"] for s in stats),
        "docs_out": sum(s["docs_out"] for s in stats),
    }


# ---------------------------------------------------------------- checks against the plan


def check_removals(spec: Spec, out: Path) -> dict:
    """Removed documents against the plan: how many, and how many were unique (fresh) documents."""
    role, source, _, _ = corpus_plan(spec)
    files = sorted((out / "work" / "minhash_dedup" / "removed").glob("part-*.parquet"))
    removed = pa.concat_tables([pq.read_table(f, columns=["doc_id", "duplicate_of"]) for f in files])

    def position(ids: np.ndarray) -> np.ndarray:
        return (ids >> 32) * spec.docs_per_part + (ids & 0xFFFFFFFF)

    pos = position(removed.column("doc_id").to_numpy())
    kept = position(removed.column("duplicate_of").to_numpy())
    return {
        "expected_removed": spec.variants,
        "removed": int(len(pos)),
        "removed_unique_documents": int((role[pos] == FRESH).sum()),
        "removed_into_another_cluster": int((source[pos] != source[kept]).sum()),
    }


def disk_usage(folder: Path) -> dict:
    sizes: dict[str, int] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            rel = path.relative_to(folder).parts
            key = "/".join(rel[:3]) if rel[0] == "out" and rel[1] == "work" else "/".join(rel[:2])
            key = key if not key.endswith(".parquet") else str(Path(key).parent)
            sizes[key] = sizes.get(key, 0) + path.stat().st_size
    return dict(sorted(sizes.items())) | {"total": sum(sizes.values())}


# ---------------------------------------------------------------- driver


def run_size(spec: Spec, keep: bool, verify: float) -> dict:
    folder = SCRATCH / f"n{spec.n_docs}"
    shutil.rmtree(folder, ignore_errors=True)
    parts, gen_s = generate(spec, folder / "parts")
    print(f"[{spec.n_docs}] generated {spec.parts} parts in {gen_s:.0f} s", flush=True)
    load = os.getloadavg()
    result = run_stage(parts, folder / "out", verify)
    result["verify_min_jaccard"] = verify
    corpus_plan.cache_clear()
    result |= {
        "spec": asdict(spec) | {"parts": spec.parts},
        "generate_s": gen_s,
        "loadavg_before": load,
        "loadavg_after": os.getloadavg(),
    }
    result["removals"] = check_removals(spec, folder / "out")
    result["disk_bytes"] = disk_usage(folder)
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"[{spec.n_docs}] stage {result['stage_s']:.0f} s, max worker RSS "
        f"{result['memory']['max_worker_rss'] / 1e9:.2f} GB",
        flush=True,
    )
    return result


def plan_size(wanted: int, previous: dict | None, budget_s: float, docs_per_part: int) -> int:
    """The size to run for `wanted`: itself unless the previous size's time per document says it won't fit."""
    if previous is None:
        return wanted
    per_doc = (previous["stage_s"] + previous["generate_s"]) / previous["spec"]["n_docs"]
    if per_doc * wanted <= budget_s:
        return wanted
    fit = int(budget_s / per_doc) // docs_per_part * docs_per_part
    return max(docs_per_part, fit)


def step_totals(steps: list[dict]) -> dict:
    totals: dict[str, dict] = {}
    for s in steps:
        t = totals.setdefault(s["step"], {"calls": 0, "tasks": 0, "wall_s": 0.0})
        t["calls"] += 1
        t["tasks"] += s["tasks"]
        t["wall_s"] += s["wall_s"]
    return totals


def growth(small: dict, large: dict) -> dict:
    n_ratio = large["spec"]["n_docs"] / small["spec"]["n_docs"]
    a, b = small["memory"], large["memory"]
    return {
        "docs_ratio": n_ratio,
        "stage_time_ratio": large["stage_s"] / small["stage_s"],
        "per_step_time_ratio": {
            step: large["step_totals"][step]["wall_s"] / t["wall_s"]
            for step, t in small["step_totals"].items()
            if step in large["step_totals"] and t["wall_s"] > 0
        },
        "max_worker_rss_ratio": b["max_worker_rss"] / a["max_worker_rss"],
        "workers_sum_ratio": b["peak"]["workers_sum"] / a["peak"]["workers_sum"],
        "driver_ratio": b["peak"]["driver"] / a["peak"]["driver"],
    }


def print_report(results: list[dict]) -> None:
    for r in results:
        n = r["spec"]["n_docs"]
        label = f" (run instead of {r['wanted_n_docs']:,}: see extrapolation)" if r["wanted_n_docs"] != n else ""
        print(
            f"\n{n:,} documents, {r['spec']['parts']} parts{label}: stage {r['stage_s']:.1f} s wall "
            f"({n / r['stage_s']:.0f} docs/s), generation {r['generate_s']:.0f} s, Ray start {r['ray_start_s']:.1f} s"
        )
        print(f"  verify_min_jaccard {r['verify_min_jaccard']}")
        print(f"  {'step':22s} {'calls':>5s} {'tasks':>6s} {'wall s':>8s} {'share':>6s} {'max worker RSS':>15s}")
        for step, t in r["step_totals"].items():
            mem = r["memory"]["per_step"].get(step, {}).get("max_worker_rss", 0)
            mem_text = f"{mem / 1e6:12.0f} MB" if mem else f"{'(no sample)':>15s}"
            share = t["wall_s"] / r["stage_s"]
            print(f"  {step:22s} {t['calls']:5d} {t['tasks']:6d} {t['wall_s']:8.1f} {100 * share:5.1f}% {mem_text}")
        m = r["memory"]
        print(
            f"  max RSS: worker {m['max_worker_rss'] / 1e6:.0f} MB ({len(m['workers'])} worker pids), workers summed "
            f"{m['peak']['workers_sum'] / 1e6:.0f} MB, driver {m['peak']['driver'] / 1e6:.0f} MB, all Ray processes "
            f"+ driver {m['peak']['all_sum'] / 1e6:.0f} MB; target no worker > 1.5 GB -> "
            f"{'met' if m['max_worker_rss'] <= WORKER_LIMIT else 'NOT met'}"
        )
        rm = r["removals"]
        print(
            f"  removed {rm['removed']:,} (ideal {rm['expected_removed']:,}), unique documents removed "
            f"{rm['removed_unique_documents']}, into another cluster {rm['removed_into_another_cluster']}; "
            f"disk {r['disk_bytes']['total'] / 1e9:.2f} GB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--docs-per-part", type=int, default=10_000)
    parser.add_argument("--dup-rate", type=float, default=0.08)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget-min", type=float, default=20.0, help="time allowed for one size")
    parser.add_argument("--keep", action="store_true", help=f"keep {SCRATCH}")
    parser.add_argument("--verify-min-jaccard", type=float, default=0.0, help="the stage's verification (0: off)")
    parser.add_argument("--json", default="dedup_scale.json", help="file name of the results under bench/out")
    args = parser.parse_args()
    results: list[dict] = []
    for wanted in sorted(args.sizes):
        n = plan_size(wanted, results[-1] if results else None, 60 * args.budget_min, args.docs_per_part)
        if n != wanted:
            print(
                f"[{wanted}] estimated over {args.budget_min:.0f} min from the previous size: running {n}", flush=True
            )
        spec = Spec(n, args.docs_per_part, args.dup_rate, args.seed)
        result = run_size(spec, args.keep, args.verify_min_jaccard)
        result["wanted_n_docs"] = wanted
        result["step_totals"] = step_totals(result["steps"])
        if n != wanted:
            scale = wanted / n
            result["extrapolated_linear"] = {
                "n_docs": wanted,
                "stage_s": result["stage_s"] * scale,
                "note": "EXTRAPOLATED linearly from the size run, not measured",
            }
        results.append(result)
    summary = {"sizes": results}
    if len(results) > 1:
        summary["growth"] = growth(results[0], results[-1])
    if not args.keep:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    OUT.mkdir(exist_ok=True)
    (OUT / args.json).write_text(json.dumps(summary, indent=1))
    print_report(results)
    if "growth" in summary:
        g = summary["growth"]
        print(
            f"\ngrowth x{g['docs_ratio']:.0f} documents: stage time x{g['stage_time_ratio']:.2f}, max worker RSS "
            f"x{g['max_worker_rss_ratio']:.2f}, workers summed x{g['workers_sum_ratio']:.2f}, driver "
            f"x{g['driver_ratio']:.2f}"
        )
        print("  per step time: " + ", ".join(f"{k} x{v:.2f}" for k, v in g["per_step_time_ratio"].items()))
    print(f"\nwrote {OUT / args.json}")


if __name__ == "__main__":
    main()
