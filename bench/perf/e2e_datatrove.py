"""End to end against datatrove as FineWeb's users install it: documents per CPU-second of the whole process tree.

    .venv/bin/python -m bench.perf.e2e_datatrove                     # 3 rounds, both WARCs, all three sides
    .venv/bin/python -m bench.perf.e2e_datatrove --rounds 2 --rounds-all 1     # shorter: the `all` mix in round 1 only
    .venv/bin/python -m bench.perf.e2e_datatrove --rounds 1 --mixes cc --sides datatrove,ours

One command, three sides, each a fresh subprocess over the same WARC:
  datatrove  FineWeb's base processing with datatrove 0.10.1 in its own venv, bench/out/venv-datatrove-fineweb
             (`pip install "datatrove[io,processing]==0.10.1" spacy lxml_html_clean aiohttp`, as pip resolves it:
             trafilatura 1.11): WarcReader -> URLFilter -> Trafilatura(favour_precision=True) ->
             LanguageFilter(["en"], 0.65) -> GopherRepetition -> GopherQuality -> C4Quality(no terminal-punct
             rule) -> FineWebQuality -> JsonlWriter, with FineWeb's exclusion writers, under
             LocalPipelineExecutor(tasks=1, workers=1). See bench/perf/e2e_datatrove_side.py for what is installed
             and what is provided locally instead of downloaded (lid.176, the public suffix list).
  ours       our per-file pass (`pipeline.filepass.process_file`) over the WARC, recipe = the repository's
             stages.yaml as it is at run time (see Code below), cut to FineWeb's stages: its per-document
             stages up to the last of read/url_filter/extract/language/gopher_repetition/gopher_quality/
             c4_quality/fineweb_quality, whatever else stands between them (a language pre-pass before extract,
             say) included, settings as written (extract.method too); what comes after (toxicity, perplexity,
             quality classifier) and the corpus stages are cut. Written to bench/out/e2e/stages-fineweb.yaml.
  ray        our full default recipe (stages.yaml unchanged: every stage, dedup and tokenize included) through
             `python -m pipeline run` with an embedded Ray of 2 CPUs; Ray's start and stop included.

Code (`--code`): by default our two sides run a snapshot of the committed HEAD (`git archive` into
bench/out/e2e/code/<sha>/, bench/ left out, first on PYTHONPATH and the working directory, Ray's workers
included) with that snapshot's stages.yaml, so that every round measures the same code while others edit the
working tree; the recipe is validated and cut by the snapshot's code too; `--code worktree` runs the working tree
as it is.

WARCs (bench/make_bench_warc.py --mix): `cc`, the CommonCrawl-like mix (about 45% English pages by our language
ID on the extracted text, the rest other languages after CommonCrawl's shares as far as the pages allow), and
`all`, every real page of ../shared/data (html_eval pages + the crawl files' HTML responses).

Measured per run: wall seconds; CPU seconds of the whole process tree (the benchmark makes itself a child
subreaper, so processes orphaned by the side, Ray's workers say, are re-parented to it and reaped, and their
user+sys time lands in its RUSAGE_CHILDREN; psutil also polls every process of the tree every 0.5 s, a lower
bound reported beside it; the figure used is the larger); the 1/5/15-minute load averages before and after; the
CPU seconds the rest of the machine used meanwhile (all cores busy time minus ours); documents read and kept.
Rounds are interleaved: each round runs every mix, and the order of the sides rotates from round to round.
docs/CPU-s = response records in the WARC / CPU seconds. Every side runs in its own network namespace
(`unshare -n`, loopback only) when available, so nothing can fetch anything.

Then, untimed: our per-file pass once more with every drop recorded, and datatrove's reader alone, to compare
the kept sets: kept by both, only by one side, and why the other side dropped them (our drop reason; datatrove's
exclusion writer, else reader skip or extraction drop). datatrove's limit of 1 s per page is wall-clock: on a
loaded machine it drops pages (count in `timeout`), so read the kept counts beside the load.

Results: bench/out/e2e_datatrove.json, and Markdown tables on stdout.
"""

from __future__ import annotations

import argparse
import ctypes
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench import make_bench_warc as mbw
from bench.common import (
    DATATROVE_FINEWEB,
    OUT,
    RAY_ENV,
    REPO,
    children_cpu_s,
    code_path_env,
    head_snapshot,
    in_code,
    markdown_table,
    network_off,
    shared,
)

WORK = OUT / "e2e"
RESULTS = OUT / "e2e_datatrove.json"
DT_PYTHON = DATATROVE_FINEWEB.python
DT_SIDE = Path(__file__).resolve().parent / "e2e_datatrove_side.py"  # run by path with DT_PYTHON: no bench import
DT_HOME = OUT / "dt-fineweb-home"  # HF_HOME (datatrove's asset cache) and TLDEXTRACT_CACHE of the datatrove side
MODEL = REPO / "filters" / "assets" / "lid.176.ftz"
FINEWEB_STAGES = (
    "read",
    "url_filter",
    "extract",
    "language",
    "gopher_repetition",
    "gopher_quality",
    "c4_quality",
    "fineweb_quality",
)
SIDES = ("datatrove", "ours", "ray")
RAY_CPUS = 2
POLL_S = 0.5
RESULT_TAGS = ("E2E_RESULT ",)
ALL_DROPS = 10**9  # drop_samples_per_reason for the untimed pass that records every drop
PR_SET_CHILD_SUBREAPER = 36
CODE_ROOT = REPO  # whose `pipeline` and stages.yaml our sides run: a snapshot of HEAD by default (--code)


# ---------------------------------------------------------------- setup


def ensure_mix(kind: str) -> dict:
    path = mbw.mix_path(kind)
    info_path = path.with_suffix(".json")
    if not (path.exists() and info_path.exists()):
        shared("html_eval")
        print(f"building {path} (python -m bench.make_bench_warc --mix {kind}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "bench.make_bench_warc", "--mix", kind], check=True, cwd=REPO)
    return json.loads(info_path.read_text())


def warc_info(path: Path) -> dict:
    """For --warc: any WARC file; documents = its response records."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    with open(path, "rb") as f:
        responses = sum(1 for _ in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=False))
    return {"path": str(path.resolve()), "mix": path.name, "responses": responses, "bytes": path.stat().st_size}


def ensure_datatrove_venv() -> dict:
    """The datatrove venv as a FineWeb user installs it; returns what pip resolved."""
    DATATROVE_FINEWEB.ensure()
    freeze = subprocess.run([str(DT_PYTHON), "-m", "pip", "freeze"], capture_output=True, text=True).stdout
    return {"requirements": list(DATATROVE_FINEWEB.requirements), "freeze": freeze.split()}


def cut_recipe(source: Path) -> dict:
    """`_cut_recipe` run by the code measured (CODE_ROOT's registry and config loader), in a child process."""
    cmd, env = in_code(CODE_ROOT, __spec__.name, "--cut-recipe", str(source))
    done = subprocess.run(cmd, env=env, cwd=CODE_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"cutting {source} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _cut_recipe(source: Path) -> dict:
    """stages.yaml cut to FineWeb's stages (see the module doc); writes the cut recipe, returns what was kept."""
    import yaml

    from core.registry import REGISTRY
    from pipeline.config import load

    load(source)  # validate as the pipeline would (unknown stages or keys fail here, with the line)
    raw = yaml.safe_load(source.read_text())
    names = [s["stage"] for s in raw["stages"]]
    per_doc = [n for n in names if REGISTRY.get(n).kind != "corpus"]
    present = [n for n in per_doc if n in FINEWEB_STAGES]
    if not present:
        sys.exit(f"{source}: none of FineWeb's stages {FINEWEB_STAGES}: nothing to compare")
    keep = per_doc[: max(per_doc.index(n) for n in present) + 1]
    raw["stages"] = [s for s in raw["stages"] if s["stage"] in keep]
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "stages-fineweb.yaml"
    header = f"# generated by bench/perf/e2e_datatrove.py from {source}: its stages up to FineWeb's last one\n"
    path.write_text(header + yaml.safe_dump(raw, sort_keys=False))
    return {
        "source": str(source),
        "source_sha256": _sha256(source),
        "cut": str(path),
        "stages": keep,
        "not_fineweb_but_kept": [n for n in keep if n not in FINEWEB_STAGES],
        "fineweb_missing": [n for n in FINEWEB_STAGES if n not in keep],
        "left_out": [n for n in names if n not in keep],
        "stage_settings": raw["stages"],
    }


def git_state() -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO).stdout.strip()

    dirty = [line for line in git("status", "--porcelain").splitlines() if not line.endswith("/")]
    return {"head": git("rev-parse", "HEAD"), "uncommitted": dirty}


def code_snapshot(which: str) -> Path:
    """`head`: the committed HEAD, exported once to bench/out/e2e/code/<sha> (common.head_snapshot);
    `worktree`: the working tree as it is, live."""
    return REPO if which == "worktree" else head_snapshot(WORK / "code")


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- measuring a process tree


def become_subreaper() -> bool:
    """Orphaned descendants (Ray's workers when the raylet goes first) are re-parented to us, not to init, so we
    reap them and their CPU time lands in our RUSAGE_CHILDREN."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _busy_seconds() -> float:
    import psutil

    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_tree(cmd: list[str], env: dict, log_dir: Path, cwd: Path = REPO) -> dict:
    """Run `cmd`, polling its process tree; wall and CPU seconds of the tree, loads, and its result line."""
    import psutil

    me = psutil.Process()
    seen: dict[tuple[int, float], float] = {}
    peak = 0

    def sample() -> None:
        nonlocal peak
        procs = me.children(recursive=True)
        peak = max(peak, len(procs))
        for p in procs:
            try:
                with p.oneshot():
                    t = p.cpu_times()
                    seen[(p.pid, p.create_time())] = t.user + t.system
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                pass

    log_dir.mkdir(parents=True, exist_ok=True)
    load_before, busy_before = os.getloadavg(), _busy_seconds()
    children_before = children_cpu_s()
    started = time.perf_counter()
    with open(log_dir / "stdout.txt", "w") as out, open(log_dir / "stderr.txt", "w") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        while proc.poll() is None:
            sample()
            time.sleep(POLL_S)
        wall = time.perf_counter() - started
        leftovers = _wait_leftovers(me, sample)
    _reap()
    busy = _busy_seconds() - busy_before
    cpu_rusage = children_cpu_s() - children_before
    cpu_psutil = sum(seen.values())
    cpu = max(cpu_rusage, cpu_psutil)
    stdout = (log_dir / "stdout.txt").read_text(errors="replace")
    result = {}
    for line in stdout.splitlines():
        for tag in RESULT_TAGS:
            if line.startswith(tag):
                result = json.loads(line[len(tag) :])
    return {
        "rc": proc.returncode,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_rusage_s": cpu_rusage,
        "cpu_psutil_s": cpu_psutil,
        "processes_seen": len(seen),
        "peak_processes": peak,
        "leftovers_killed": leftovers,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "others_cores": max(0.0, busy - cpu) / wall if wall else None,  # cores the rest of the machine used
        "result": result,
        "stderr_tail": (log_dir / "stderr.txt").read_text(errors="replace")[-3000:],
    }


def _wait_leftovers(me, sample, grace_s: float = 60.0) -> list[str]:
    """Descendants still alive after the side's process exited: give them `grace_s` to end, then kill them (they
    are ours: started by the side), and reap all."""
    import psutil

    deadline = time.monotonic() + grace_s
    while True:
        _reap()
        alive = []
        for p in me.children(recursive=True):
            try:
                if p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        if not alive:
            return []
        sample()
        if time.monotonic() > deadline:
            names = []
            for p in alive:
                try:
                    names.append(" ".join(p.cmdline())[:80])
                    p.kill()
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(alive, timeout=10)
            _reap()
            return names
        time.sleep(0.2)


# ---------------------------------------------------------------- the three sides


def side_command(side: str, warc: str, output: Path, recipe: dict, args, diagnostic: bool = False) -> list[str]:
    if side == "datatrove":
        cmd = [str(DT_PYTHON), str(DT_SIDE), warc, "--output", str(output), "--model", str(MODEL)]
        return cmd + ["--timeout", str(args.dt_timeout)]
    if side == "ours":
        flags = ["--worker-ours", warc, "--output", str(output), "--config", recipe["cut"]]
        cmd, _ = in_code(CODE_ROOT, __spec__.name, *flags)  # its environment: side_env
        return cmd + (["--all-drops"] if diagnostic else [])
    cmd = [sys.executable, "-m", "pipeline", "run", recipe["source"], "--input", warc, "--output", str(output)]
    return cmd + ["--num-cpus", str(RAY_CPUS)]


def side_env(side: str, extra: dict) -> dict:
    # our sides: the code from CODE_ROOT, before the editable install (Ray's workers inherit it)
    env = dict(os.environ if side == "datatrove" else code_path_env(CODE_ROOT), **extra)
    if side == "datatrove":
        env.update(HF_HOME=str(DT_HOME / "hf"), TLDEXTRACT_CACHE=str(DT_HOME / "tldextract"), HF_HUB_OFFLINE="1")
    if side == "ray":
        env.update(RAY_ENV)
    return env


def run_side(side: str, mix: str, info: dict, recipe: dict, args, wrapper, diagnostic: bool = False) -> dict:
    output = WORK / mix / (side + ("-all-drops" if diagnostic else ""))
    shutil.rmtree(output, ignore_errors=True)
    cmd = wrapper[0] + side_command(side, info["path"], output, recipe, args, diagnostic)
    logs = WORK / "logs" / mix / f"{side}{'-diag' if diagnostic else ''}"
    run = run_tree(cmd, side_env(side, wrapper[1]), logs, cwd=REPO if side == "datatrove" else CODE_ROOT)
    run["side"], run["mix"], run["output"] = side, mix, str(output)
    if run["rc"] != 0:
        print(f"  {side} on {mix} FAILED (exit {run['rc']}):\n{run['stderr_tail'][-1500:]}", flush=True)
        return run
    run.update(counts(side, run, output))
    return run


def counts(side: str, run: dict, output: Path) -> dict:
    """Documents read and kept, and side-specific detail, from the side's own outputs."""
    if side == "ours":
        stats = run["result"]["stats"]
        stages = {s["name"]: round(s["seconds"], 2) for s in stats["stages"]}
        return {"read": stats["records_read"], "kept": stats["kept"], "dropped": stats["dropped"], "stages_s": stages}
    if side == "ray":
        report = json.loads((output / "report.json").read_text())
        totals = report.get("totals", {})
        return {"read": totals.get("records_read"), "kept": totals.get("kept"), "totals": totals}
    steps = run["result"]["steps"]
    by_kind = {name.split(":")[-1].strip(): data for name, data in steps.items()}
    reader = next((v for k, v in by_kind.items() if "Warc" in k), {"counts": {}})
    extract = next((v for k, v in by_kind.items() if "Trafilatura" in k), {"counts": {}})
    writer = [v for k, v in by_kind.items() if "Jsonl" in k]
    return {
        "read": reader["counts"].get("documents", 0),
        "kept": writer[-1]["counts"].get("total", 0) if writer else None,
        "extract_timeout": extract["counts"].get("timeout", 0),
        "extract_dropped": extract["counts"].get("dropped", 0),
        "steps_s": {k: round(v["seconds"], 2) for k, v in by_kind.items()},
        "step_counts": {k: v["counts"] for k, v in by_kind.items()},
    }


def worker_ours(warc: str, output: str, config: str, all_drops: bool) -> None:
    """Inside the subprocess (its code from CODE_ROOT): our per-file pass over one file, its stats for the parent."""
    import importlib.metadata as md

    from pipeline.config import load
    from pipeline.filepass import process_file

    overrides = {"input": (warc,), "output": output}
    if all_drops:
        overrides["drop_samples_per_reason"] = ALL_DROPS
    cfg = load(config).with_overrides(**overrides)
    started = time.perf_counter()
    stats = process_file(0, warc, cfg)
    versions = {}
    for name in ("trafilatura", "fastwarc", "fasttext-numpy2", "resiliparse", "pyarrow"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    import pipeline

    result = {"seconds": time.perf_counter() - started, "stats": stats, "versions": versions}
    result["pipeline_from"] = str(Path(pipeline.__file__).parent)
    print(RESULT_TAGS[0] + json.dumps(result))


def warm_up(wrapper) -> None:
    """Untimed: datatrove unpacks its UT1 lists into HF_HOME and tldextract caches its suffix list (bundled
    snapshot: no network), once, as on any machine after its first run."""
    code = (
        "from datatrove.pipeline.filters import URLFilter; from datatrove.data import Document; "
        "f = URLFilter(); print(f.filter(Document(text='x', id='0', metadata={'url': 'https://example.com/'})))"
    )
    cmd = wrapper[0] + [str(DT_PYTHON), "-c", code]
    subprocess.run(cmd, env=side_env("datatrove", wrapper[1]), capture_output=True, check=True, cwd=REPO)


# ---------------------------------------------------------------- kept sets


def ours_docs(output: Path) -> tuple[dict[str, str], dict[str, tuple[str, str | None]]]:
    """Kept id -> text, and dropped id -> (reason, text sample: our first 5,000 characters, None before
    extraction); every drop when the run recorded them all."""
    import pyarrow.parquet as pq

    kept, dropped = {}, {}
    for path in sorted((output / "docs").glob("*.parquet")):
        table = pq.read_table(path, columns=["id", "text"])
        kept.update(zip(table.column("id").to_pylist(), table.column("text").to_pylist()))
    for path in sorted((output / "dropped").glob("*.parquet")):
        table = pq.read_table(path, columns=["id", "drop_reason", "text"])
        columns = (table.column(c).to_pylist() for c in ("id", "drop_reason", "text"))
        dropped.update((i, (reason, text)) for i, reason, text in zip(*columns))
    return kept, dropped


def _jsonl(folder: Path):
    for path in sorted(folder.rglob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)


def datatrove_docs(output: Path) -> tuple[dict[str, str], dict[str, tuple[str, str | None]]]:
    """Kept id -> text, and id -> (reason, text) for the documents its exclusion writers saved."""
    kept = {doc["id"]: doc["text"] for doc in _jsonl(output / "output")}
    dropped = {}
    for doc in _jsonl(output / "2_non_english"):
        meta = doc.get("metadata", {})
        dropped[doc["id"]] = (f"language ({meta.get('language')} {meta.get('language_score', 0):.2f})", doc["text"])
    for folder in sorted((output / "removed").glob("*")):
        step = folder.name.split("_", 1)[1]
        for doc in _jsonl(folder):
            reason = f"{step}.{doc.get('metadata', {}).get('filter_reason', '?')}"
            dropped[doc["id"]] = (reason, doc["text"] if step != "url" else None)  # url: before extraction
    return kept, dropped


def _norm(text: str) -> str:
    return " ".join(text.split())


def _same_start(a: str | None, b: str | None, chars: int = 4000) -> str:
    """Whether two extractions agree on their first `chars` characters (whitespace normalized)."""
    if not a or not b:
        return "one side has no text"
    return "same text" if _norm(a)[:chars] == _norm(b)[:chars] else "different text"


def compare_kept(ours: tuple, theirs: tuple, dt_read: set[str] | None, examples: int = 3) -> dict:
    (o_kept, o_dropped), (d_kept, d_dropped) = ours, theirs
    both = o_kept.keys() & d_kept.keys()
    only_dt, only_ours = d_kept.keys() - both, o_kept.keys() - both

    def dt_reason(doc_id: str) -> str:
        if doc_id in d_dropped:
            return d_dropped[doc_id][0].split(" (")[0]
        if dt_read is not None and doc_id not in dt_read:
            return "reader skipped it (charset: not UTF-8, cchardet's guess failed)"
        return "extract: timeout, empty or error (datatrove counts these, not which)"

    def ours_reason(doc_id: str) -> str:
        return o_dropped.get(doc_id, ("not in our drop records", None))[0]

    def texts(doc_ids: set[str], reason_of, text_of) -> dict[str, dict[str, int]]:
        """Per drop reason: did the two extractions agree (the kept side's text vs the dropping side's)?"""
        out: dict[str, Counter] = {}
        for i in doc_ids:
            out.setdefault(reason_of(i), Counter())[text_of(i)] += 1
        return {reason: dict(c) for reason, c in out.items()}

    why_dt_dropped = Counter(dt_reason(i) for i in only_ours)
    why_we_dropped = Counter(ours_reason(i) for i in only_dt)
    return {
        "ours": len(o_kept),
        "datatrove": len(d_kept),
        "both": len(both),
        "only_datatrove": len(only_dt),
        "only_ours": len(only_ours),
        "same_text_normalized": sum(_norm(o_kept[i]) == _norm(d_kept[i]) for i in both),
        "chars_ours_vs_datatrove_both": [sum(len(o_kept[i]) for i in both), sum(len(d_kept[i]) for i in both)],
        "kept_by_datatrove_dropped_by_us": dict(why_we_dropped.most_common()),
        "kept_by_us_dropped_by_datatrove": dict(why_dt_dropped.most_common()),
        "text_agreement_only_datatrove": texts(
            only_dt, ours_reason, lambda i: _same_start(d_kept[i], o_dropped.get(i, (None, None))[1])
        ),
        "text_agreement_only_ours": texts(
            only_ours, dt_reason, lambda i: _same_start(o_kept[i], d_dropped.get(i, (None, None))[1])
        ),
        "examples_only_datatrove": _examples(only_dt, ours_reason, examples),
        "examples_only_ours": _examples(only_ours, dt_reason, examples),
    }


def _examples(ids: set[str], reason_of, n: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for doc_id in sorted(ids):
        picked = out.setdefault(reason_of(doc_id), [])
        if len(picked) < n:
            picked.append(doc_id)
    return out


# ---------------------------------------------------------------- report


def summarize(mix_runs: list[dict], info: dict) -> dict:
    docs = info["responses"]
    out = {}
    for side in SIDES:
        runs = [r for r in mix_runs if r["side"] == side and r["rc"] == 0]
        if not runs:
            continue
        rates = [docs / r["cpu_s"] for r in runs]
        out[side] = {
            "rounds": len(runs),
            "docs_per_cpu_s": rates,
            "docs_per_cpu_s_median": statistics.median(rates),
            "cpu_s": [round(r["cpu_s"], 1) for r in runs],
            "wall_s": [round(r["wall_s"], 1) for r in runs],
            "docs_per_s_wall_median": statistics.median(docs / r["wall_s"] for r in runs),
            "read": [r.get("read") for r in runs],
            "kept": [r.get("kept") for r in runs],
            "load_1min_before_after": [[round(r["load_before"][0], 1), round(r["load_after"][0], 1)] for r in runs],
            "others_cores": [round(r["others_cores"] or 0, 2) for r in runs],
        }
        if side == "datatrove":
            out[side]["extract_timeouts"] = [r.get("extract_timeout") for r in runs]
        last = runs[-1].get("stages_s") or runs[-1].get("steps_s")
        if last:
            out[side]["seconds_by_stage_last_round"] = last
    base = out.get("datatrove", {}).get("docs_per_cpu_s_median")
    for side, s in out.items():
        s["vs_datatrove"] = s["docs_per_cpu_s_median"] / base if base else None
    # ratios within rounds (the two sides back to back), the steadier figure on a shared machine
    for side in ("ours", "ray"):
        pairs = []
        for n in sorted({r["round"] for r in mix_runs}):
            got = {r["side"]: r for r in mix_runs if r["round"] == n and r["rc"] == 0}
            if side in got and "datatrove" in got:
                pairs.append(got["datatrove"]["cpu_s"] / got[side]["cpu_s"])
        if side in out and pairs:
            out[side]["vs_datatrove_per_round"] = [round(p, 2) for p in pairs]
    return out


LABELS = {
    "datatrove": "datatrove 0.10.1, FineWeb pipeline (1 process)",
    "ours": "ours, per-file pass, FineWeb's stages (1 process)",
    "ray": f"ours, full default recipe, Ray ({RAY_CPUS} CPUs)",
}


def markdown(mix: str, info: dict, summary: dict) -> str:
    lines = [
        f"**{mix}** `{Path(info['path']).name}`: {info['responses']} pages, "
        + (f"English {info['english_share']:.0%} (our LID, top-1 label), " if "english_share" in info else "")
        + f"{info['bytes'] / 1e6:.1f} MB gzipped",
        "",
        side_table(summary),
    ]
    for side, s in summary.items():
        if s.get("seconds_by_stage_last_round"):
            stages = ", ".join(f"{k} {v:.1f}" for k, v in s["seconds_by_stage_last_round"].items())
            lines.append(f"\n{side}, wall seconds by stage inside the process (last round): {stages}")
    if "by_language" in info:
        lines.append(f"\npages by language (our LID): {info['by_language']}")
    return "\n".join(lines)


def side_table(summary: dict) -> str:
    """The sides of one mix: docs per CPU-second, per round, against datatrove, and what each read and kept."""
    rows = []
    for side, s in summary.items():
        per_round = ", ".join(f"{x:.1f}" for x in s["docs_per_cpu_s"])
        ratio = f"{s['vs_datatrove']:.2f}x" if s.get("vs_datatrove") else "-"
        if s.get("vs_datatrove_per_round"):
            ratio += f" ({', '.join(f'{x:.2f}' for x in s['vs_datatrove_per_round'])})"
        kept = ", ".join(str(k) for k in s["kept"])
        if side == "datatrove":
            kept += f" (timeouts {', '.join(str(t) for t in s['extract_timeouts'])})"
        rows.append(
            [
                LABELS[side],
                f"**{s['docs_per_cpu_s_median']:.1f}**",
                per_round,
                ratio,
                ", ".join(map(str, s["cpu_s"])),
                ", ".join(map(str, s["wall_s"])),
                ", ".join(str(r) for r in s["read"]),
                kept,
                ", ".join(f"{a}→{b}" for a, b in s["load_1min_before_after"]),
            ]
        )
    header = ["side", "docs/CPU-s (median)", "per round", "vs datatrove", "CPU-s", "wall s", "read", "kept"]
    return markdown_table([*header, "load 1-min before→after"], rows, align="lrlr")


def mix_table(results: dict, mix: str) -> str:
    """BENCHMARKS.md's table of one mix (`python -m bench.tables`), from bench/out/e2e_datatrove.json."""
    return side_table(results["mixes"][mix]["summary"])


def markdown_kept(mix: str, cmp: dict) -> str:
    lines = [
        f"kept sets on **{mix}** (ours: the untimed all-drops pass; datatrove: its last timed run): ours "
        f"{cmp['ours']}, datatrove {cmp['datatrove']}, both {cmp['both']} (same text after whitespace "
        f"normalization: {cmp['same_text_normalized']}), only datatrove {cmp['only_datatrove']}, only ours "
        f"{cmp['only_ours']}",
        "- kept by datatrove, dropped by us: "
        + (", ".join(f"{k} {v}" for k, v in cmp["kept_by_datatrove_dropped_by_us"].items()) or "none"),
        "- kept by us, dropped by datatrove: "
        + (", ".join(f"{k} {v}" for k, v in cmp["kept_by_us_dropped_by_datatrove"].items()) or "none"),
    ]
    for key, who in (("text_agreement_only_datatrove", "datatrove"), ("text_agreement_only_ours", "us")):
        parts = [f"{reason}: {counts}" for reason, counts in cmp.get(key, {}).items()]
        if parts:
            lines.append(
                f"- extracted texts of the pages kept only by {who}, by the other side's reason: " + "; ".join(parts)
            )
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rounds-all", type=int, help="rounds on the `all` mix (default: --rounds)")
    parser.add_argument("--mixes", default="cc,all", help="comma-separated: cc (CommonCrawl-like), all (every page)")
    parser.add_argument("--sides", default=",".join(SIDES), help="comma-separated subset of datatrove,ours,ray")
    parser.add_argument("--warc", type=Path, help="instead of the mixes: this WARC file")
    parser.add_argument("--recipe", type=Path, help="our recipe (default: the code's stages.yaml)")
    parser.add_argument(
        "--code",
        choices=("head", "worktree"),
        default="head",
        help="our code and recipe: a snapshot of the committed HEAD (default), or the working tree as it is",
    )
    parser.add_argument("--dt-timeout", type=float, default=1.0, help="datatrove Trafilatura timeout (FineWeb: 1)")
    parser.add_argument("--no-compare", action="store_true", help="skip the untimed kept-set comparison")
    parser.add_argument("--compare-only", action="store_true", help="redo the kept-set comparison and tables")
    parser.add_argument("--worker-ours", metavar="WARC", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--all-drops", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cut-recipe", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_ours:
        return worker_ours(args.worker_ours, args.output, args.config, args.all_drops)
    if args.cut_recipe:
        return print(json.dumps(_cut_recipe(args.cut_recipe)))

    if args.compare_only:
        return compare_only()
    sides = [s for s in SIDES if s in args.sides.split(",")]
    subreaper = become_subreaper()
    if args.warc:
        infos = {args.warc.name: warc_info(args.warc)}
    else:
        infos = {mix: ensure_mix(mix) for mix in args.mixes.split(",") if mix}
    mixes = list(infos)
    results_path = OUT / f"e2e_datatrove-{args.warc.name.split('.')[0]}.json" if args.warc else RESULTS
    venv = ensure_datatrove_venv()
    global CODE_ROOT
    CODE_ROOT = code_snapshot(args.code)
    recipe = cut_recipe((args.recipe or CODE_ROOT / "stages.yaml").resolve())
    wrapper = network_off()
    warm_up(wrapper)
    print(f"ours (b): {' -> '.join(recipe['stages'])}  [{recipe['cut']}]", flush=True)
    print(f"ray  (c): {recipe['source']} as it is (every stage); code from {CODE_ROOT}", flush=True)
    results = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "subreaper": subreaper},
        "git": git_state(),
        "code": {"which": args.code, "root": str(CODE_ROOT)},
        "recipe": recipe,
        "datatrove_venv": venv,
        "datatrove_timeout_s": args.dt_timeout,
        "network": "unshare -n (loopback only)" if wrapper[0] else "HTTP(S) proxies to a dead port",
        "mixes": {mix: {"warc": infos[mix], "runs": []} for mix in mixes},
    }
    for n in range(args.rounds):
        order = sides[n % len(sides) :] + sides[: n % len(sides)]
        for mix in mixes:
            if mix == "all" and args.rounds_all is not None and n >= args.rounds_all:
                continue
            for side in order:
                run = run_side(side, mix, infos[mix], recipe, args, wrapper)
                run["round"] = n + 1
                results["mixes"][mix]["runs"].append(run)
                docs = infos[mix]["responses"]
                print(
                    f"round {n + 1} {mix:3} {side:9} {run['cpu_s']:7.1f} CPU-s "
                    f"({docs / run['cpu_s']:5.1f} docs/CPU-s) "
                    f"{run['wall_s']:6.1f} s wall  kept {run.get('kept')}  "
                    f"load {run['load_before'][0]:.1f}->{run['load_after'][0]:.1f}",
                    flush=True,
                )
            results_path.write_text(json.dumps(results, indent=1))
    if not args.no_compare and {"ours", "datatrove"} <= set(sides):
        for mix in mixes:
            run_side("ours", mix, infos[mix], recipe, args, wrapper, diagnostic=True)
            results["mixes"][mix]["kept_comparison"] = compare_mix(mix, infos[mix], results, wrapper)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    report(results, infos, mixes, results_path)


def compare_mix(mix: str, info: dict, results: dict, wrapper) -> dict:
    """The kept sets of ours (the all-drops pass) and datatrove (its last timed run) on one mix."""
    read = run_tree(
        wrapper[0] + [str(DT_PYTHON), str(DT_SIDE), info["path"], "--list-read"],
        side_env("datatrove", wrapper[1]),
        WORK / "logs" / mix / "datatrove-read",
    )["result"].get("read_ids")
    ours = ours_docs(WORK / mix / "ours-all-drops")
    cmp = compare_kept(ours, datatrove_docs(WORK / mix / "datatrove"), set(read) if read else None)
    cmp["datatrove_read"] = len(read) if read else None
    timed = {r.get("kept") for r in results["mixes"][mix]["runs"] if r["side"] == "ours"}
    cmp["ours_timed_kept_counts"] = sorted(k for k in timed if k is not None)
    return cmp


def compare_only() -> None:
    """Redo the comparison and the tables from the last run's outputs and results (no timed run)."""
    results = json.loads(RESULTS.read_text())
    infos = {mix: m["warc"] for mix, m in results["mixes"].items()}
    wrapper = network_off()
    for mix, info in infos.items():
        if (WORK / mix / "ours-all-drops").is_dir() and (WORK / mix / "datatrove").is_dir():
            results["mixes"][mix]["kept_comparison"] = compare_mix(mix, info, results, wrapper)
    report(results, infos, list(infos), RESULTS)


def report(results: dict, infos: dict, mixes: list[str], results_path: Path) -> None:
    for mix in mixes:
        results["mixes"][mix]["summary"] = summarize(results["mixes"][mix]["runs"], infos[mix])
    results_path.write_text(json.dumps(results, indent=1))
    print()
    for mix in mixes:
        print(markdown(mix, infos[mix], results["mixes"][mix]["summary"]) + "\n")
        if "kept_comparison" in results["mixes"][mix]:
            print(markdown_kept(mix, results["mixes"][mix]["kept_comparison"]) + "\n")
    print(f"full results: {results_path}")


if __name__ == "__main__":
    main()
