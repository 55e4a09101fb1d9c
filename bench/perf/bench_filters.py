"""Heuristic-filter throughput: our filter chain against datatrove 0.10.1's four filters, same documents, same run.

    .venv/bin/python -m bench.perf.bench_filters              # 3 rounds over bench/filters_corpus.py's corpus, medians
    .venv/bin/python -m bench.perf.bench_filters --rounds 5 --english

What runs, one process and one core each:
  ours       `pipeline.steps.build_steps` over StageSpecs for gopher_repetition, gopher_quality, c4_quality and
             fineweb_quality (their defaults, c4 as stages.yaml sets it): one `FilterChain`, called as
             pipeline/filepass.py calls it, on pyarrow batches of 256 documents (stages.yaml's batch_size), then
             `split_dropped` as the engine does. url_filter is not part of it (nor of datatrove's side).
  datatrove  GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter(filter_no_terminal_punct=False) ->
             FineWebQualityFilter (FineWeb's order and settings), chained through their `run()` generators as
             datatrove's executor chains pipeline steps, over `Document(text=..., id=..., metadata={})`; spaCy
             installed in bench/out/venv-datatrove (blank English tokenizer + sentencizer, as datatrove loads it).
Each side is a fresh subprocess in every round (no cache carried over from an earlier round: our per-chunk
memo and spaCy's vocabulary both start empty), and the sides alternate which goes first. Timed: the filtering
only; reading the corpus, building batches or Documents, and imports are outside the clock, and spaCy is loaded
(one tokenization) before it starts. docs/s = documents in / wall seconds; docs per CPU second (the process's
user+sys time: one thread, so one core) is reported too, and is the steadier figure on a shared machine.
Ratios are taken within each round and their medians reported. Results: bench/out/bench_filters.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time

from bench.common import DATATROVE, OUT, REPO
from bench.filters_corpus import is_english, load_corpus

OUR_PYTHON = REPO / ".venv" / "bin" / "python"
BATCH_SIZE = 256


def load_texts(english: bool) -> list[tuple[str, str]]:
    return [(r["id"], r["text"]) for r in load_corpus() if is_english(r) or not english]


def run_ours(docs: list[tuple[str, str]]) -> dict:
    from core.batch import READ_SCHEMA, from_rows, split_dropped
    from core.registry import REGISTRY
    from pipeline.config import StageSpec
    from pipeline.steps import build_steps

    names = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")
    specs = [StageSpec(name, REGISTRY.get(name).config_cls(), 0) for name in names]
    (chain,) = build_steps(specs)
    rows = [{"doc_id": i, "id": doc_id, "url": None, "text": text} for i, (doc_id, text) in enumerate(docs)]
    batches = [from_rows(rows[i : i + BATCH_SIZE]) for i in range(0, len(rows), BATCH_SIZE)]
    chain(READ_SCHEMA.empty_table())  # what the engine does first (output schema); also warms nothing else
    kept, dropped = 0, {}
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        after, _ = chain(batch)
        live, gone = split_dropped(after)
        kept += live.num_rows
        for reason in gone.column("drop_reason").to_pylist():
            dropped[reason] = dropped.get(reason, 0) + 1
    return _result(len(docs), kept, dropped, wall, cpu)


def run_datatrove(docs: list[tuple[str, str]]) -> dict:
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.utils.text import split_into_sentences, split_into_words

    steps = [
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(),
    ]
    split_into_words("Load spaCy first."), split_into_sentences("Load the sentencizer. Now.")
    documents = [Document(text=text, id=doc_id, metadata={}) for doc_id, text in docs]
    wall, cpu = time.perf_counter(), time.process_time()
    pipeline = iter(documents)
    for step in steps:
        pipeline = step.run(pipeline, rank=0, world_size=1)
    kept = sum(1 for _ in pipeline)
    dropped = {}
    for step in steps:
        for key, value in step.stats.stats.items():
            if key.startswith("dropped_"):
                dropped[f"{step.name}.{key[8:]}"] = value.total
    return _result(len(docs), kept, dropped, wall, cpu)


def _result(n_docs: int, kept: int, dropped: dict, wall: float, cpu: float) -> dict:
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"docs": n_docs, "kept": kept, "seconds": wall, "cpu_seconds": cpu, "docs_per_s": n_docs / wall,
            "docs_per_cpu_s": n_docs / cpu, "dropped": dropped}  # fmt: skip


def side(name: str, english: bool) -> dict:
    # Both sides run this module from the repository root: in datatrove's venv it imports only the standard
    # library, bench.common and bench.filters_corpus (whose load_corpus is standard library too).
    python = OUR_PYTHON if name == "ours" else DATATROVE.python
    args = [str(python), "-m", __spec__.name, "--side", name] + (["--english"] if english else [])
    done = subprocess.run(args, check=True, capture_output=True, text=True, cwd=REPO)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--english", action="store_true", help="only the documents lid.176 calls English")
    parser.add_argument("--side", choices=("ours", "datatrove"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        docs = load_texts(args.english)
        print(json.dumps((run_ours if args.side == "ours" else run_datatrove)(docs)))
        return
    rounds = []
    for i in range(args.rounds):
        order = ("ours", "datatrove") if i % 2 == 0 else ("datatrove", "ours")
        result = {name: side(name, args.english) for name in order}
        result["ratio"] = result["ours"]["docs_per_s"] / result["datatrove"]["docs_per_s"]
        result["cpu_ratio"] = result["ours"]["docs_per_cpu_s"] / result["datatrove"]["docs_per_cpu_s"]
        rounds.append(result)
        ours, dt = result["ours"], result["datatrove"]
        print(
            f"round {i + 1}: ours {ours['docs_per_s']:8.1f} docs/s ({ours['cpu_seconds']:.2f} CPU s), "
            f"datatrove {dt['docs_per_s']:7.1f} docs/s ({dt['cpu_seconds']:.2f} CPU s), ratio {result['ratio']:.1f}x "
            f"(CPU {result['cpu_ratio']:.1f}x); "
            f"kept {ours['kept']}/{dt['kept']} of {ours['docs']}"
        )
    summary = {
        "docs": rounds[0]["ours"]["docs"],
        "english_only": args.english,
        "ours_docs_per_s": statistics.median(r["ours"]["docs_per_s"] for r in rounds),
        "datatrove_docs_per_s": statistics.median(r["datatrove"]["docs_per_s"] for r in rounds),
        "ratio": statistics.median(r["ratio"] for r in rounds),
        "ours_docs_per_cpu_s": statistics.median(r["ours"]["docs_per_cpu_s"] for r in rounds),
        "datatrove_docs_per_cpu_s": statistics.median(r["datatrove"]["docs_per_cpu_s"] for r in rounds),
        "cpu_ratio": statistics.median(r["cpu_ratio"] for r in rounds),
        "same_kept": all(r["ours"]["kept"] == r["datatrove"]["kept"] for r in rounds),
        "rounds": rounds,
    }
    name = "bench_filters_en.json" if args.english else "bench_filters.json"
    (OUT / name).write_text(json.dumps(summary, indent=1))
    print(
        f"median of {args.rounds}: ours {summary['ours_docs_per_s']:.1f} docs/s, datatrove "
        f"{summary['datatrove_docs_per_s']:.1f} docs/s, ratio {summary['ratio']:.1f}x; per CPU second: ours "
        f"{summary['ours_docs_per_cpu_s']:.1f}, datatrove {summary['datatrove_docs_per_cpu_s']:.1f}, ratio "
        f"{summary['cpu_ratio']:.1f}x (same kept: {summary['same_kept']})"
    )


if __name__ == "__main__":
    main()
