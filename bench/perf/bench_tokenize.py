"""Tokenize-and-write throughput vs bare SentencePiece `encode`, same documents, same thread count, same run.

    .venv/bin/python -m bench.perf.bench_tokenize [--docs N] [--threads 1]

Documents: real page texts from ../shared/data (WikiText-2 articles and the CC-2019-30 sample), repeated
to N. "ours" = the `tokenize` stage's two steps (tokenize_part: encode + specials + shuffle keys + bucket
files; write_bucket_shards: sort + Parquet shards) and the manifest, run in this process; "bare" =
`SentencePieceProcessor.encode(texts, num_threads=T)` only. Target: ours >= 0.8x bare. Writes
bench/out/bench_tokenize.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import OUT, shared
from core import corpus, storage
from tokenization.shards import TokenizeConfig, TokenizeStage
from tokenization.tokenizer import DEFAULT_MODEL

SCRATCH = OUT / "tokenize"


def real_texts() -> list[str]:
    quality, texts = shared("quality"), []
    for path in sorted(quality.glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as f:
            texts += [json.loads(line)["text"] for line in f]
    for path in sorted((quality / "wikitext2").glob("*")):
        articles = path.read_text(errors="replace").split("\n = ")
        texts += [a for a in articles if len(a) > 2000]
    if not texts:
        sys.exit(f"no text found under {quality}: this benchmark needs ../shared/data")
    return texts


def corpus_of(n: int) -> list[str]:
    texts = real_texts()
    return [texts[i % len(texts)] for i in range(n)]


def bare(texts: list[str], threads: int) -> tuple[float, int]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(DEFAULT_MODEL))
    started = time.perf_counter()
    ids = sp.encode(texts, num_threads=threads)
    return time.perf_counter() - started, sum(map(len, ids))


def ours(texts: list[str], threads: int, parts: int = 4) -> tuple[float, int]:
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(parents=True)
    per = -(-len(texts) // parts)
    paths = []
    for p in range(parts):
        chunk = texts[p * per : (p + 1) * per]
        table = pa.table({"doc_id": pa.array([(p << 32) + i for i in range(len(chunk))], pa.int64()), "text": chunk})
        path = str(SCRATCH / f"in-{p}.parquet")
        pq.write_table(table, path)
        paths.append((p, path))
    out = str(SCRATCH / "run")
    dirs = corpus.StageDirs("tokenize", out, storage.join(out, "work", "tokenize"), storage.join(out, "docs"))
    ctx = corpus.CorpusContext(dirs, paths, lambda fn, args: [fn(*a) for a in args])
    started = time.perf_counter()
    TokenizeStage(TokenizeConfig(num_threads=threads, buckets=4, shard_tokens=10_000_000)).run(ctx)
    seconds = time.perf_counter() - started
    manifest = json.loads((SCRATCH / "run" / "tokens" / "manifest.json").read_text())
    return seconds, manifest["tokens"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    texts = corpus_of(args.docs)
    rows = []
    for _ in range(args.rounds):
        b_s, b_tokens = bare(texts, args.threads)
        o_s, o_tokens = ours(texts, args.threads)
        rows.append(
            {
                "bare_tokens_per_s": b_tokens / b_s,
                "ours_tokens_per_s": o_tokens / o_s,
                "ratio": (o_tokens / o_s) / (b_tokens / b_s),
                "tokens": o_tokens,
            }
        )
    result = {
        "docs": len(texts),
        "threads": args.threads,
        "rounds": rows,
        "median_ratio": statistics.median(r["ratio"] for r in rows),
        "median_ours_tokens_per_s": statistics.median(r["ours_tokens_per_s"] for r in rows),
        "median_bare_tokens_per_s": statistics.median(r["bare_tokens_per_s"] for r in rows),
    }
    (OUT / "bench_tokenize.json").write_text(json.dumps(result, indent=1))
    print(f"{len(texts)} docs, {rows[0]['tokens']:,} tokens (with BOS/EOS), {args.threads} thread(s)")
    print(f"bare SentencePiece encode : {result['median_bare_tokens_per_s'] / 1e6:.2f} M tokens/s")
    print(f"ours (encode+shuffle+write): {result['median_ours_tokens_per_s'] / 1e6:.2f} M tokens/s")
    print(f"ratio ours/bare (median of {args.rounds}): {result['median_ratio']:.2f}  (target >= 0.8)")
    shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
