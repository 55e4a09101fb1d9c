"""Evaluation and throughput of the `perplexity` stage and its shipped model (BENCHMARKS.md "Perplexity").

    .venv/bin/python -m bench.quality.eval_quality prepare     # the page files below -> bench/out/quality/ (once)
    .venv/bin/python -m bench.quality.eval_perplexity eval     # distributions, buckets, agreement with CCNet's labels
    .venv/bin/python -m bench.quality.eval_perplexity throughput [--repeat 3]   # CPU ms/document vs other stages

`eval` scores, with the stage's default config (the shipped WikiText-2 model and its own cutoffs): the WikiText-2
sections train-lm held out (seed 0, 10% of articles), the English Wikipedia pages found among the crawls, the 20
CCNet `head` documents of ../shared/data/quality/ccnet_head_samples (which carry CCNet's own perplexity and
bucket), the English crawl pages (WARC, ARC, CC-MAIN-2019-30; the cutoffs' own sample, so 30/30/40 by
construction), the English html_eval article pages (never used), and the crawl pages that pass the recipe's
heuristic filters and toxicity (what reaches the stage in stages.yaml: its real drop rate). `throughput` times each
stage's CPU (time.process_time) over the same English pages in batches of 256, as the per-file pass runs them.
Each command prints its table and keeps its numbers in bench/out/eval_perplexity.json (key `eval` or `throughput`),
from which `python -m bench.tables` renders BENCHMARKS.md's two tables (eval_table, throughput_table).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from bench.common import OUT, REPO, SHARED, markdown_table, shared
from bench.quality.eval_quality import QUALITY_OUT, make_batch, read_pages

CCNET_SAMPLES = SHARED / "quality/ccnet_head_samples"
RESULTS = OUT / "eval_perplexity.json"


def ccnet_docs() -> list[dict]:
    return [json.loads(line) for f in sorted(CCNET_SAMPLES.glob("*.jsonl")) for line in f.open()]


def held_out_wikitext() -> list[str]:
    from filters.lm_train import LmParams
    from filters.quality_train import read_documents, split_train_test

    params = LmParams()
    docs = read_documents(QUALITY_OUT / "wikitext2_sections.jsonl.gz", params.min_chars)
    return [d.text for d in split_train_test(docs, params.test_frac, params.seed)[1]]


def recipe_stages() -> dict:
    """The recipe's heuristic chain, toxicity, perplexity and quality_classifier steps, built from stages.yaml."""
    from pipeline.config import load
    from pipeline.steps import build_steps

    specs = {s.name: s for s in load(REPO / "stages.yaml").stages}
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


def distribution(rows: list[dict]) -> dict:
    """Perplexity percentiles, bucket shares and the share dropped of one group of scored documents."""
    values = [r["perplexity"] for r in rows if r["perplexity"] is not None]
    p10, p50, p90 = (float(x) for x in np.percentile(values, [10, 50, 90]))
    share = {b: sum(r["ccnet_bucket"] == b for r in rows) / len(rows) for b in ("head", "middle", "tail")}
    dropped = sum(r["drop_reason"] is not None for r in rows) / len(rows)
    return {"n": len(rows), "p10": p10, "p50": p50, "p90": p90, **share, "dropped": dropped}


def eval_table(results: dict) -> str:
    """The `eval` table (BENCHMARKS.md "Perplexity"), from bench/out/eval_perplexity.json."""
    rows = [
        [name, d["n"], *(f"{d[k]:.0f}" for k in ("p10", "p50", "p90"))]
        + [f"{d[k]:.0%}" for k in ("head", "middle", "tail", "dropped")]
        for name, d in results["eval"]["groups"].items()
    ]
    return markdown_table(["documents", "n", "p10", "median", "p90", "head", "middle", "tail", "dropped"], rows)


def throughput_table(results: dict) -> str:
    """The `throughput` table (BENCHMARKS.md "Perplexity"), from bench/out/eval_perplexity.json."""
    t, rows = results["throughput"], []
    for name, seconds in t["cpu_s"].items():
        median = seconds[len(seconds) // 2]
        ms, rate = 1000 * median / t["documents"], t["documents"] / median
        rows.append(
            [name, f"{ms:.2f}", f"{rate:,.0f}", f"{t['mb'] / median:.2f}", ", ".join(f"{s:.2f}" for s in seconds)]
        )
    return markdown_table(["stage", "CPU ms / document", "documents / CPU-s", "MB / CPU-s", "runs (CPU s)"], rows)


def save(key: str, value: dict) -> dict:
    """Keep one command's numbers in RESULTS beside the other command's."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[key] = value
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    return results


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
        "English crawl pages (the cutoffs' sample: 30/30/40 by construction)": crawl,
        "English html_eval article pages (never used)": [p["text"] for p in read_pages("article_pages_en")],
        "crawl pages after the recipe's heuristics + toxicity": after_heuristics(crawl),
    }
    results = {name: scored(texts) for name, texts in groups.items()}
    saved = save("eval", {"groups": {name: distribution(rows) for name, rows in results.items()}})
    print(eval_table(saved))
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
    cpu_s = {name: sorted(run(step, texts)[1] for _ in range(args.repeat)) for name, step in recipe_stages().items()}
    load = os.getloadavg()[0]
    print(throughput_table(save("throughput", {"documents": len(texts), "mb": mb, "cpu_s": cpu_s, "load_1min": load})))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True)
    sub.add_parser("eval").set_defaults(func=cmd_eval)
    throughput = sub.add_parser("throughput")
    throughput.add_argument("--repeat", type=int, default=3)
    throughput.set_defaults(func=cmd_throughput)
    args = parser.parse_args()
    shared()
    args.func(args)


if __name__ == "__main__":
    main()
