"""Every corpus stage at crawl shape: synthetic committed parts through exact_dedup, minhash_dedup, line_dedup
and tokenize, then the report, by the engine itself (embedded Ray, 2 CPUs, `max_task_memory_mb` 1500).

    .venv/bin/python -m bench.perf.scale                             # 1M docs in 1k and 10k parts, 10M in 10k
    .venv/bin/python -m bench.perf.scale --sizes 200000:2000 --s3    # output on S3 (moto on loopback)

Per size: wall time of each stage and step; the peak RSS of the workers during each step (a worker runs one
task at a time, so this is the largest task of the step, plus what the worker kept from earlier tasks) and
of the driver; the bucket and partition counts each step chose (its plan.json); the bytes each filter task
read (its part and its own removal file; before issue 11 every filter task read every removal file: that
total is shown beside); the documents each stage removed against what the generator planted. With --s3,
every request the S3 server answered, per stage, split into the driver's and the workers', by kind.

Corpus (deterministic from --seed, generated in two spawned processes, not timed): documents of 60-100 words
from a Zipf vocabulary (bench/perf/dedup_scale.py's), in 3-5 lines, as the per-file pass commits them
(`work/filtered/part-N.parquet` with every column, `stats/part-N.json`, `run.json`). 4% of documents are
exact copies and 8% near copies (one span of 3-6 words replaced, 5-gram Jaccard ~0.8-0.9) of one of
N/50 source texts; 30% carry one of 200 boilerplate lines, which line_dedup removes. What this measures is
how memory, reads and requests grow with documents and parts, not throughput: documents are short.
Results: bench/out/scale.json (a list, one entry per size); scratch in bench/out/scale_work/ (deleted).
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import OUT, RAY_ENV, REPO, markdown_table
from bench.perf.dedup_scale import RssMonitor, sample_words, vocabulary

STAGES = ("exact_dedup", "minhash_dedup", "line_dedup", "tokenize")
EXACT_RATE, NEAR_RATE, BOILERPLATE_RATE, BOILERPLATE_LINES = 0.04, 0.08, 0.3, 200
MIN_WORDS, MAX_WORDS = 60, 100
S3_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


# ---------------------------------------------------------------- the corpus


@lru_cache(maxsize=4)
def _source_words(seed: int, k: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 7, k])
    return sample_words(rng, int(rng.integers(MIN_WORDS, MAX_WORDS + 1)))


@lru_cache(maxsize=1)
def _boilerplate(seed: int) -> list[str]:
    vocab = vocabulary(seed)
    rng = np.random.default_rng([seed, 9])
    return [" ".join(vocab[w] for w in sample_words(rng, 6)) for _ in range(BOILERPLATE_LINES)]


def _document(seed: int, g: int, n_docs: int) -> tuple[str, str]:
    """(text, role) of the document at global position g."""
    vocab = vocabulary_cached(seed)
    rng = np.random.default_rng([seed, 8, g])
    draw = rng.random()
    role = "exact" if draw < EXACT_RATE else "near" if draw < EXACT_RATE + NEAR_RATE else "fresh"
    if role == "fresh":
        words = sample_words(rng, int(rng.integers(MIN_WORDS, MAX_WORDS + 1)))
    else:
        words = _source_words(seed, int(rng.integers(0, max(1, n_docs // 50)))).copy()
        if role == "near":
            span = int(rng.integers(3, 7))
            at = int(rng.integers(0, len(words) - span))
            words[at : at + span] = sample_words(rng, span)
    cuts = np.sort(rng.choice(np.arange(5, len(words) - 5), int(rng.integers(2, 5)), replace=False))
    lines = [" ".join(vocab[w] for w in chunk) for chunk in np.split(words, cuts)]
    if role == "fresh" and rng.random() < BOILERPLATE_RATE:
        lines.insert(int(rng.integers(0, len(lines) + 1)), _boilerplate(seed)[int(rng.integers(BOILERPLATE_LINES))])
    return "\n".join(lines), role


@lru_cache(maxsize=1)
def vocabulary_cached(seed: int) -> list[str]:
    return vocabulary(seed)


def generate_part(output: str, index: int, n_docs: int, n_parts: int, seed: int) -> dict:
    """One part as the per-file pass commits it: documents, then the file's stats. Returns role counts."""
    from core import storage
    from core.stats import FileStats, StageStats

    lo, hi = index * n_docs // n_parts, (index + 1) * n_docs // n_parts
    texts, roles = zip(*[_document(seed, g, n_docs) for g in range(lo, hi)]) if hi > lo else ((), ())
    n = hi - lo
    table = pa.table(
        {
            "doc_id": pa.array((index << 32) + np.arange(n), pa.int64()),
            "id": [f"<urn:uuid:{g:012d}>" for g in range(lo, hi)],
            "url": [f"https://site{g % 997}.example/page/{g}" for g in range(lo, hi)],
            "date": ["2024-12-01T00:00:00Z"] * n,
            "source": [f"synthetic-{index:06d}.warc.gz@{row}" for row in range(n)],
            "text": pa.array(list(texts), pa.large_string()),
            "language": ["en"] * n,
            "language_score": pa.array([0.9] * n, pa.float32()),
            "quality_score": pa.array([0.5] * n, pa.float32()),
        }
    )
    fs, _ = storage.filesystem(output)
    with storage.open_for_commit(fs, storage.join(output, "work", "filtered", f"part-{index:06d}.parquet")) as f:
        pq.write_table(table, f, compression="zstd")
    text_bytes = sum(len(t.encode()) for t in texts)
    stats = FileStats(file=input_name(index), file_index=index, records_read=n, kept=n, kept_bytes=text_bytes)
    stats.stages = [StageStats("read", docs_in=n, docs_out=n, bytes_in=text_bytes, bytes_out=text_bytes)]
    storage.write_json(fs, storage.join(output, "stats", f"part-{index:06d}.json"), stats.to_dict())
    return {role: roles.count(role) for role in ("exact", "near", "fresh")}


def input_name(index: int) -> str:
    return f"synthetic/crawl-{index:06d}.warc.gz"


def generate(output: str, n_docs: int, n_parts: int, seed: int, env: dict) -> tuple[dict, float]:
    started = time.perf_counter()
    os.environ.update(env)
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(generate_part, output, i, n_docs, n_parts, seed) for i in range(n_parts)]
        counts = [f.result() for f in futures]
    roles = {r: sum(c[r] for c in counts) for r in ("exact", "near", "fresh")}
    return roles, time.perf_counter() - started


# ---------------------------------------------------------------- the run


def write_config(folder: Path, output: str, budget_mb: int) -> Path:
    # read and extract as the per-file pass that committed the parts ran them (the order check needs extract)
    body = f"output: {output}\nmax_task_memory_mb: {budget_mb}\nstages:\n  - stage: read\n  - stage: extract\n"
    body += "".join(f"  - stage: {name}\n" for name in STAGES)
    path = folder / "stages.yaml"
    path.write_text(body)
    return path


class Instrumented:
    """Wraps the engine's corpus-stage map and stage runner: names the step for the RSS monitor, times steps,
    and (with a counting S3 server) takes the request counts before and after each stage."""

    def __init__(self, engine, monitor: RssMonitor, requests=None, on_stage=None):
        self.steps: list[dict] = []
        self.stages: dict[str, dict] = {}
        self.engine = engine
        real_map, real_stage = self.originals = engine._ray_map, engine._run_corpus_stage

        def ray_map(config, address, num_cpus, echo, label, retried):
            inner = real_map(config, address, num_cpus, echo, label, retried)

            def timed(fn, args_list):
                monitor.step = f"{label}:{fn.__name__}"
                started = time.perf_counter()
                results = inner(fn, args_list)
                wall = time.perf_counter() - started
                self.steps.append({"stage": label, "step": fn.__name__, "tasks": len(args_list), "wall_s": wall})
                monitor.step = "driver"
                return results

            return timed

        def run_stage(fs, spec, ctx, retried):
            before = requests() if requests else None
            started, cpu = time.perf_counter(), time.process_time()
            real_stage(fs, spec, ctx, retried)
            entry = {"wall_s": time.perf_counter() - started, "driver_cpu_s": time.process_time() - cpu}
            if requests:
                entry["requests"] = diff_counts(requests(), before)
            self.stages[spec.name] = entry
            if on_stage:
                on_stage(self)

        engine._ray_map, engine._run_corpus_stage = ray_map, run_stage

    def restore(self) -> None:
        """Put the engine back, so that the next size wraps the engine, not this size's wrappers (which would
        write the next size's figures into this one's entries)."""
        self.engine._ray_map, self.engine._run_corpus_stage = self.originals


def diff_counts(after: dict, before: dict) -> dict:
    return {who: {k: n - before.get(who, {}).get(k, 0) for k, n in after[who].items()} for who in after}


def run_size(n_docs: int, n_parts: int, seed: int, s3: str | None, budget_mb: int = 1500, partial=None) -> dict:
    """One size through every corpus stage and the report. `partial`, a path: the stages' figures so far are
    written there after each stage, so a run stopped before its end still tells what it measured."""
    import ray

    from core import storage
    from pipeline import config as config_module
    from pipeline import engine

    scratch = Path(tempfile.mkdtemp(prefix="scale-", dir=OUT))
    output = f"{s3}/run-{n_docs}-{n_parts}" if s3 else str(scratch / "out")
    env = S3_ENV if s3 else {}
    roles, generate_s = generate(output, n_docs, n_parts, seed, env)
    config = config_module.load(write_config(scratch, output, budget_mb))
    files = [input_name(i) for i in range(n_parts)]
    fs, _ = storage.filesystem(output)
    assert engine._prepare_output(fs, output, config, files) == []  # every part committed, as after the pass
    os.environ.update(RAY_ENV)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    if s3:
        # After ray.init, so the workers do not inherit it; botocore reads it when a client is made, so the
        # driver's filesystem (cached by fsspec since `generate`) is made again to carry the tag.
        os.environ["AWS_SDK_UA_APP_ID"] = "driver"
        type(fs).clear_instance_cache()
        fs, _ = storage.filesystem(output)
    monitor = RssMonitor()
    monitor.start()
    probe = (lambda: requests_so_far()) if s3 else None

    def save_partial(so_far: Instrumented) -> None:
        if not partial:
            return
        try:  # the monitor thread may be adding a step as this copies: then the next stage writes it
            memory = {k: copy.deepcopy(v) for k, v in monitor.report().items() if k in ("per_step", "peak")}
        except RuntimeError:
            return
        figures = {"stages": so_far.stages, "steps": so_far.steps, "memory": memory}
        Path(partial).write_text(json.dumps({"docs": n_docs, "parts": n_parts, **figures}, indent=1))

    instrumented = Instrumented(engine, monitor, probe, save_partial)
    started, driver_cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
    try:
        make_map = lambda label, retried: engine._ray_map(config, None, 2, lambda line: None, label, retried)  # noqa: E731
        engine._run_corpus_stages(fs, config, files, make_map, lambda line: None)
        monitor.step = "report"
        report_started = time.perf_counter()
        before = probe() if probe else None
        report_map = engine._ray_map(config, None, 2, lambda line: None, "report", collections.Counter())
        report = engine._finish(fs, output, [], report_map)
        report_s = time.perf_counter() - report_started
        report_requests = diff_counts(probe(), before) if probe else None
    finally:
        instrumented.restore()
        monitor.stop()
        ray.shutdown()
        os.environ.pop("AWS_SDK_UA_APP_ID", None)
    result = {
        "docs": n_docs,
        "parts": n_parts,
        "s3": bool(s3),
        "generate_s": generate_s,
        "planted": roles,
        "wall_s": time.perf_counter() - started,
        "report_s": report_s,
        "report_requests": report_requests,
        # this size's own (getrusage counts from the start of the process, so every size before it too); it
        # includes the RSS monitor's thread, whose own CPU is memory.monitor_cpu_s
        "driver_cpu_s": resource.getrusage(resource.RUSAGE_SELF).ru_utime - driver_cpu,
        "stages": instrumented.stages,
        "steps": instrumented.steps,
        "memory": {
            k: v for k, v in monitor.report().items() if k in ("per_step", "peak", "max_worker_rss", "monitor_cpu_s")
        },
        "removed": {s["name"]: sum(s["dropped"].values()) for s in report["stages"]},
        "tokens": report["totals"]["tokens"],
        "conservation_ok": report["conservation"]["ok"],
        "plans": plans(fs, output),
        "filter_reads": filter_reads(fs, output, n_parts),
    }
    shutil.rmtree(scratch, ignore_errors=True)
    return result


def plans(fs, output: str) -> dict:
    """Every plan.json the stages wrote: the bucket counts and passes they chose."""
    found, work = {}, fs._strip_protocol(output).rstrip("/") + "/work/"
    for path in sorted(fs.glob(f"{output}/work/*/*/plan.json")):
        relative = path.removeprefix(work).removesuffix("/plan.json")
        found[relative] = json.loads(fs.cat(path))
    return found


def filter_reads(fs, output: str, n_parts: int) -> dict:
    """Bytes a filter task of each removal stage read besides its part (its own removal file), and what it
    would have read before (every removal file of the stage)."""
    out = {}
    for stage in ("exact_dedup", "minhash_dedup"):
        listing = fs.ls(f"{output}/work/{stage}/removals/by_part", detail=True)
        sizes = [e["size"] for e in listing if e["type"] == "file"]
        everything = sum(e["size"] for e in fs.ls(f"{output}/work/{stage}/removed", detail=True))
        parts = [e["size"] for e in fs.ls(f"{output}/work/{stage}/docs", detail=True)]
        out[stage] = {
            "removal_files": len(sizes),
            "removal_bytes_per_task_max": max(sizes),
            "removal_bytes_per_task_mean": sum(sizes) / len(sizes),
            "part_bytes_per_task_mean": sum(parts) / max(1, len(parts)),
            "before_issue_11_per_task": everything,
        }
    return out


# ---------------------------------------------------------------- S3 server


SERVER: dict = {}


def start_s3() -> str:
    port_file = Path(tempfile.mkstemp(prefix="s3port-")[1])
    port_file.write_text("")
    proc = subprocess.Popen([sys.executable, "-m", "bench.perf.s3_counting_server", str(port_file)], cwd=REPO)
    while not port_file.read_text():
        time.sleep(0.1)
    endpoint = f"http://127.0.0.1:{port_file.read_text()}"
    SERVER.update(proc=proc, endpoint=endpoint)
    os.environ.update(S3_ENV, AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED="true")
    import boto3

    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="scale")
    return "s3://scale"


def requests_so_far() -> dict:
    import urllib.request

    with urllib.request.urlopen(f"{SERVER['endpoint']}/_requests") as response:
        return json.loads(response.read())


# ---------------------------------------------------------------- report


def table(results: list[dict]) -> str:
    """One row per size: wall time, peak memory, what a filter task reads, the bucket counts chosen; from
    bench/out/scale.json (`python -m bench.tables`)."""
    mb, rows = 1 << 20, []
    for r in results:
        p = r["plans"]
        buckets = ", ".join(
            str(p.get(k, {}).get("plan", p.get(k, {})).get("buckets", p.get(k, {}).get("partitions", "-")))
            for k in ("exact_dedup/shuffle", "minhash_dedup/shuffle", "minhash_dedup/cc", "tokenize/shuffle")
        )
        exact, near = r["filter_reads"]["exact_dedup"], r["filter_reads"]["minhash_dedup"]
        rows.append(
            [
                f"{r['docs']:,}",
                f"{r['parts']:,}",
                f"{r.get('max_task_memory_mb', 1500):,}",
                f"{r['wall_s']:.0f}",
                f"{sum(step.get('worker_cpu_s', 0) for step in r['memory']['per_step'].values()):.0f}",
                f"{r['tokens'] / 1e6:.0f}",
                f"{r['memory']['max_worker_rss'] / mb:.0f}",
                f"{r['memory']['peak']['driver'] / mb:.0f}",
                f"{exact['removal_bytes_per_task_max']:,}, {near['removal_bytes_per_task_max']:,}",
                f"{exact['before_issue_11_per_task']:,}, {near['before_issue_11_per_task']:,}",
                buckets,
            ]
        )
    header = ["docs", "parts", "budget MB", "wall s", "worker CPU-s", "M tokens"]
    header += ["worker peak RSS MB (max over steps)", "driver peak MB"]
    header += ["removal bytes/filter task (exact, minhash)", "before", "buckets (exact, minhash keys, cc, tokenize)"]
    return markdown_table(header, rows, align="rrrrrrrr")


def requests_table(results: list[dict]) -> str:
    """With --s3: the requests each corpus stage made, per size and per part, to show they grow with parts +
    buckets, not with their product (bench/out/scale_s3.json); the driver's share apart where the run tagged it
    (entries before the tag reached the driver's own client count every request as the workers')."""
    rows = []
    for r in results:
        for name, stage in r["stages"].items():
            counts = collections.Counter()
            for who in ("workers", "driver"):
                counts.update(stage["requests"][who])
            driver = sum(stage["requests"]["driver"].values())
            total = sum(counts.values())
            kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
            rows.append(
                [
                    f"{r['docs']:,}",
                    f"{r['parts']:,}",
                    name,
                    f"{total:,}",
                    f"{total / r['parts']:.1f}",
                    f"{driver:,}" if driver else "-",
                    kinds,
                ]
            )
    header = ["docs", "parts", "stage", "requests", "per part", "of them the driver's", "by kind"]
    return markdown_table(header, rows, align="rrlrrr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["1000000:1000", "1000000:10000", "10000000:10000"],
        help="DOCS:PARTS[:MAX_TASK_MEMORY_MB] (default 1500 MB): a smaller budget gives the bucket counts of a "
        "corpus that many times larger",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--s3", action="store_true", help="output on S3: moto on loopback, requests counted")
    parser.add_argument("--output", default=str(OUT / "scale.json"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    s3 = start_s3() if args.s3 else None
    results = []
    try:
        for size in args.sizes:
            n_docs, n_parts, budget_mb = ([int(x) for x in size.split(":")] + [1500])[:3]
            where = " on S3" if s3 else ""
            print(f"== {n_docs:,} documents in {n_parts:,} parts, {budget_mb} MB a task{where}", flush=True)
            partial = Path(args.output).with_suffix(".partial.json")
            result = run_size(n_docs, n_parts, args.seed, s3, budget_mb, partial)
            results.append({**result, "max_task_memory_mb": budget_mb})
            partial.unlink(missing_ok=True)
            Path(args.output).write_text(json.dumps(results, indent=1))
            print(json.dumps({k: results[-1][k] for k in ("wall_s", "stages", "removed", "plans")}, indent=1))
    finally:
        if s3:
            SERVER["proc"].terminate()
    print(table(results))


if __name__ == "__main__":
    main()
