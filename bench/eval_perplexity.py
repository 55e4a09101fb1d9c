"""Evaluation and throughput of the `perplexity` stage and its shipped model (BENCHMARKS.md "Perplexity").

    .venv/bin/python bench/eval_quality.py prepare     # the page files below -> bench/out/quality/ (once)
    .venv/bin/python bench/eval_perplexity.py eval     # distributions, buckets, agreement with CCNet's labels
    .venv/bin/python bench/eval_perplexity.py throughput [--repeat 3]   # CPU ms/document vs the other stages

`eval` scores, with the stage's default config (the shipped WikiText-2 model and its own cutoffs): the WikiText-2
sections train-lm held out (seed 0, 10% of articles), the English Wikipedia pages found among the crawls, the 20
CCNet `head` documents of ../shared/data/quality/ccnet_head_samples (which carry CCNet's own perplexity and
bucket), the English crawl pages (WARC, ARC, CC-MAIN-2019-30; the cutoffs' own sample, so 30/30/40 by
construction), the English html_eval article pages (never used), and the crawl pages that pass the recipe's
heuristic filters and toxicity (what reaches the stage in stages.yaml: its real drop rate). `throughput` times each
stage's CPU (time.process_time) over the same English pages in batches of 256, as the per-file pass runs them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_quality import OUT, SHARED, make_batch, read_pages  # noqa: E402

CCNET_SAMPLES = SHARED / "quality/ccnet_head_samples"


def ccnet_docs() -> list[dict]:
    return [json.loads(line) for f in sorted(CCNET_SAMPLES.glob("*.jsonl")) for line in f.open()]


def held_out_wikitext() -> list[str]:
    from filters.lm_train import LmParams
    from filters.quality_train import read_documents, split_train_test

    params = LmParams()
    docs = read_documents(OUT / "wikitext2_sections.jsonl.gz", params.min_chars)
    return [d.text for d in split_train_test(docs, params.test_frac, params.seed)[1]]


def recipe_stages() -> dict:
    """The recipe's heuristic chain, toxicity, perplexity and quality_classifier steps, built from stages.yaml."""
    from pipeline.config import load
    from pipeline.steps import build_steps

    specs = {s.name: s for s in load(ROOT / "stages.yaml").stages}
    heuristics = ["gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"]
    steps = {"heuristic chain (4 filters)": build_steps([specs[n] for n in heuristics])[0]}
    for name in ("toxicity", "perplexity", "quality_classifier"):
        steps[name] = build_steps([specs[name]])[0]
    return steps


def run(step, texts: list[str]):
    """The step over `texts` in batches of 256: (output tables, CPU seconds)."""
    batches = [make_batch(texts[i : i + 256]) for i in range(0, len(texts), 256)]
    started = time.process_time()
    outs = [step(b)[0] for b in batches]
    return outs, time.process_time() - started


def scored(texts: list[str]) -> list[dict]:
    step = recipe_stages()["perplexity"]
    outs, _ = run(step, texts)
    return [r for t in outs for r in t.select(["perplexity", "ccnet_bucket", "drop_reason"]).to_pylist()]


def row(name: str, rows: list[dict]) -> str:
    values = [r["perplexity"] for r in rows if r["perplexity"] is not None]
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    share = {b: sum(r["ccnet_bucket"] == b for r in rows) / len(rows) for b in ("head", "middle", "tail")}
    dropped = sum(r["drop_reason"] is not None for r in rows) / len(rows)
    return (
        f"| {name} | {len(rows)} | {p10:.0f} | {p50:.0f} | {p90:.0f} | {share['head']:.0%} | {share['middle']:.0%} "
        f"| {share['tail']:.0%} | {dropped:.0%} |"
    )


def after_heuristics(texts: list[str]) -> list[str]:
    steps = recipe_stages()
    live = texts
    for name in ("heuristic chain (4 filters)", "toxicity"):
        outs, _ = run(steps[name], live)
        live = [r["text"] for t in outs for r in t.select(["text", "drop_reason"]).to_pylist() if not r["drop_reason"]]
    return live


def cmd_eval(args) -> None:
    from filters.perplexity import CCNET_CUTOFFS, bucket_of, read_cutoffs

    crawl = [p["text"] for p in read_pages("crawl_negatives_en")]
    groups = {
        "WikiText-2, held-out articles": held_out_wikitext(),
        "English Wikipedia pages as crawled": [p["text"] for p in read_pages("wikipedia_pages_en")],
        "CCNet `head` documents (CC-MAIN-2020)": [d["text"] for d in ccnet_docs()],
        "English crawl pages (the cutoffs' sample)": crawl,
        "English html_eval article pages (unused)": [p["text"] for p in read_pages("article_pages_en")],
        "crawl pages after heuristics + toxicity": after_heuristics(crawl),
    }
    print("| documents | n | p10 | median | p90 | head | middle | tail | dropped |\n" + "|---" * 9 + "|")
    results = {name: scored(texts) for name, texts in groups.items()}
    for name, rows in results.items():
        print(row(name, rows))
    docs, ours = ccnet_docs(), results["CCNet `head` documents (CC-MAIN-2020)"]
    theirs = [d["metadata"]["perplexity"] for d in docs]
    agree = sum(r["ccnet_bucket"] == d["metadata"]["bucket"] for r, d in zip(ours, docs))
    ccnet_cut = read_cutoffs(CCNET_CUTOFFS)["en"]
    wrong_table = sum(bucket_of(r["perplexity"], ccnet_cut, 30, 60) == "head" for r in ours)
    rho = np.corrcoef(np.argsort(np.argsort(theirs)), np.argsort(np.argsort([r["perplexity"] for r in ours])))[0, 1]
    print(f"\nCCNet's bucket: {agree} of {len(docs)} agree (ours: {[r['ccnet_bucket'] for r in ours]})")
    print(f"CCNet's perplexity {min(theirs)}-{max(theirs)}; ours {min(r['perplexity'] for r in ours)}-"
          f"{max(r['perplexity'] for r in ours)}; Spearman {rho:.2f}")  # fmt: skip
    print(f"our perplexities against CCNet's cutoffs (another model's): {wrong_table} of {len(docs)} head")


def cmd_throughput(args) -> None:
    texts = [p["text"] for name in ("crawl_negatives_en", "article_pages_en") for p in read_pages(name)]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    print(f"{len(texts)} English pages, {mb:.1f} MB of text; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs; CPU time (process_time), {args.repeat} runs, median\n")  # fmt: skip
    print("| stage | CPU ms / document | documents / CPU-s | MB / CPU-s | runs (CPU s) |\n|---|---|---|---|---|")
    for name, step in recipe_stages().items():
        seconds = sorted(run(step, texts)[1] for _ in range(args.repeat))
        median = seconds[len(seconds) // 2]
        runs = ", ".join(f"{s:.2f}" for s in seconds)
        ms, rate = 1000 * median / len(texts), len(texts) / median
        print(f"| {name} | {ms:.2f} | {rate:,.0f} | {mb / median:.2f} | {runs} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True)
    sub.add_parser("eval").set_defaults(func=cmd_eval)
    throughput = sub.add_parser("throughput")
    throughput.add_argument("--repeat", type=int, default=3)
    throughput.set_defaults(func=cmd_throughput)
    if not SHARED.exists():
        sys.exit(f"{SHARED} is not here: this benchmark needs the shared third-party data")
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
