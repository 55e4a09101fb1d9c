"""`tokenize`: the kept documents as Parquet token shards a trainer can read, globally shuffled, seeded.

Steps (Ray tasks, each committed with a marker, skipped on re-run):
1. tokenize (a task per part): encode with the specials policy; each document gets a shuffle key
   xxh3(seed, doc_id) and goes to one of `buckets` files by key (`work/tokenize/buckets/part-N/`);
2. shards (a task per bucket): sort the bucket by key, cut shards of `shard_tokens` tokens, write
   `tokens/shards/shard-BBBB-KKKK.parquet` (a folder of Parquet only, for pyarrow/DuckDB/datasets): zstd,
   dictionary encoding off for the tokens column, row groups of
   about `row_group_tokens` tokens;
3. manifest (driver): `tokens/manifest.json`, written last, with every shard's documents, tokens and sha256
   read back from the files.
The order of documents is a function of (seed, doc_id) only, so shards are byte-identical whatever the
number of workers. Columns: `tokens` list<uint16> (uint32 for vocabularies over 65,536), `num_tokens`,
`doc_id` and `id` (join with docs/), `source`, `quality_score` (null when no quality classifier ran).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from pipeline import corpus, storage
from pipeline.registry import param, register
from pipeline.stats import StageStats
from pipeline.tokenizer import SPECIALS, cached_tokenizer


@dataclass(frozen=True)
class TokenizeConfig:
    tokenizer_path: str = param(
        "", "SentencePiece .model or HF tokenizer.json; empty: shipped Mistral v1 (LLaMA-style)"
    )
    specials: str = param("bos_eos", "bos_eos (LLaMA) | eos_only | none: ids added by our code", choices=SPECIALS)
    seed: int = param(0, "seed of the global shuffle of documents", ge=0)
    shard_tokens: int = param(100_000_000, "tokens per shard file, about", ge=1)
    row_group_tokens: int = param(4_000_000, "tokens per Parquet row group, about", ge=1)
    buckets: int = param(16, "shuffle buckets (each shard-writing task holds one: ~1/buckets of the tokens)", ge=1)
    num_threads: int = param(1, "SentencePiece encoding threads per task", ge=1)


@register("tokenize", TokenizeConfig, kind="corpus")
class TokenizeStage:
    """Tokenize the kept documents into globally shuffled Parquet token shards plus a manifest."""

    produces_docs = False  # reads docs/, writes tokens/: the documents themselves are unchanged

    def __init__(self, cfg: TokenizeConfig):
        self.cfg = cfg

    def run(self, ctx: corpus.CorpusContext) -> list[dict]:
        work = ctx.work
        stats = ctx.map(tokenize_part, [(ctx.dirs, i, part, self.cfg) for i, part in ctx.parts])
        shards = ctx.map(write_bucket_shards, [(ctx.output, b, work, self.cfg) for b in range(self.cfg.buckets)])
        write_manifest(ctx.output, [s for bucket in shards for s in bucket], self.cfg)
        return stats


def shard_schema(dtype) -> pa.Schema:
    return pa.schema(
        [
            ("tokens", pa.list_(pa.uint16() if dtype == np.uint16 else pa.uint32())),
            ("num_tokens", pa.int32()),
            ("doc_id", pa.int64()),
            ("id", pa.string()),
            ("source", pa.string()),
            ("quality_score", pa.float32()),
        ]
    )


def tokenize_part(dirs: corpus.StageDirs, index: int, part: str, cfg: TokenizeConfig) -> dict:
    fs, _ = storage.filesystem(dirs.output)
    if fs.exists(dirs.stats_path(index)):
        return storage.read_json(fs, dirs.stats_path(index))
    started = time.perf_counter()
    docs = pq.read_table(part, filesystem=fs)
    tokenizer = cached_tokenizer(cfg.tokenizer_path, cfg.specials, cfg.num_threads)
    ids = tokenizer.encode_batch(docs.column("text").to_pylist())
    table = _token_table(docs, ids, tokenizer.dtype)
    keys = shuffle_keys(docs.column("doc_id").to_numpy(), cfg.seed)
    table = table.append_column("key", pa.array(keys, pa.uint64()))
    folder = storage.join(dirs.work, "buckets", f"part-{index:06d}")
    bucket = (keys % np.uint64(cfg.buckets)).astype(np.int64)
    for b in range(cfg.buckets):
        corpus.write_part(fs, storage.join(folder, f"bucket-{b:04d}.parquet"), table.filter(pa.array(bucket == b)))
    stats = StageStats(dirs.name, docs_in=docs.num_rows, docs_out=docs.num_rows, tokens=int(sum(map(len, ids))))
    stats.bytes_in = stats.bytes_out = corpus.text_bytes(docs)
    stats.seconds = time.perf_counter() - started
    storage.write_json(fs, dirs.stats_path(index), stats.to_dict())
    return stats.to_dict()


def _token_table(docs: pa.Table, ids: list[np.ndarray], dtype) -> pa.Table:
    schema = shard_schema(dtype)
    flat = np.concatenate(ids) if ids else np.empty(0, dtype)
    offsets = np.concatenate(([0], np.cumsum([len(x) for x in ids]))).astype(np.int32)
    tokens = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, schema.field("tokens").type.value_type))
    n = docs.num_rows
    quality = docs.column("quality_score") if "quality_score" in docs.column_names else pa.nulls(n, pa.float32())
    return pa.table(
        {
            "tokens": tokens,
            "num_tokens": pa.array([len(x) for x in ids], pa.int32()),
            "doc_id": docs.column("doc_id"),
            "id": docs.column("id") if "id" in docs.column_names else pa.nulls(n, pa.string()),
            "source": docs.column("source") if "source" in docs.column_names else pa.nulls(n, pa.string()),
            "quality_score": pc.cast(quality, pa.float32()),
        },
        schema=schema,
    )


def shuffle_keys(doc_ids: np.ndarray, seed: int) -> np.ndarray:
    """A document's place in the global order: a hash of (seed, doc_id), nothing about who computed it."""
    digest = xxhash.xxh3_64_intdigest
    return np.fromiter((digest(int(d).to_bytes(8, "little"), seed) for d in doc_ids), np.uint64, len(doc_ids))


def write_bucket_shards(output: str, bucket: int, work: str, cfg: TokenizeConfig) -> list[dict]:
    fs, _ = storage.filesystem(output)
    marker = storage.join(work, "shards", f"bucket-{bucket:04d}.json")
    if fs.exists(marker):
        return storage.read_json(fs, marker)["shards"]
    files = sorted(fs.glob(storage.join(work, "buckets", "part-*", f"bucket-{bucket:04d}.parquet")))
    table = pa.concat_tables([pq.read_table(f, filesystem=fs) for f in files]) if files else None
    shards = []
    if table is not None and table.num_rows:
        table = table.take(pc.sort_indices(table, sort_keys=[("key", "ascending"), ("doc_id", "ascending")]))
        table = table.drop_columns(["key"])
        for k, (start, stop) in enumerate(_cuts(table.column("num_tokens").to_numpy(), cfg.shard_tokens)):
            relative = f"shards/shard-{bucket:04d}-{k:04d}.parquet"
            _write_shard(
                fs, storage.join(output, "tokens", relative), table.slice(start, stop - start), cfg.row_group_tokens
            )
            shards.append({"path": relative})
    storage.write_json(fs, marker, {"shards": shards})
    return shards


def _cuts(num_tokens: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """[start, stop) row ranges of about `limit` tokens each (a shard closes once it reaches the limit)."""
    cuts, start, total = [], 0, 0
    for i, n in enumerate(num_tokens.tolist()):
        total += n
        if total >= limit:
            cuts.append((start, i + 1))
            start, total = i + 1, 0
    if start < len(num_tokens):
        cuts.append((start, len(num_tokens)))
    return cuts


def _write_shard(fs, path: str, table: pa.Table, row_group_tokens: int) -> None:
    with storage.atomic_path(fs, path) as tmp, fs.open(tmp, "wb") as f:
        # dictionary encoding off for token lists: ids repeat too little for it to pay (~0.95 bytes/token with zstd)
        with pq.ParquetWriter(f, table.schema, compression="zstd", use_dictionary=["id", "source"]) as writer:
            for start, stop in _cuts(table.column("num_tokens").to_numpy(), row_group_tokens):
                writer.write_table(table.slice(start, stop - start), row_group_size=stop - start)


def write_manifest(output: str, shards: list[dict], cfg: TokenizeConfig) -> dict:
    """Written last: counts and checksums read back from the shard files themselves."""
    fs, _ = storage.filesystem(output)
    info = cached_tokenizer(cfg.tokenizer_path, cfg.specials).info
    entries = []
    for shard in shards:
        path = storage.join(output, "tokens", shard["path"])
        with fs.open(path, "rb") as f:
            data = f.read()
        table = pq.read_table(pa.BufferReader(data), columns=["num_tokens"])
        entries.append(
            {
                "path": shard["path"],
                "documents": table.num_rows,
                "tokens": int(pc.sum(table.column("num_tokens")).as_py() or 0),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    manifest = {
        "tokenizer": {"name": info.name, "sha256": info.sha256, "vocab_size": info.vocab_size},
        "bos_id": info.bos_id,
        "eos_id": info.eos_id,
        "specials": cfg.specials,
        "seed": cfg.seed,
        "token_dtype": "uint16" if info.vocab_size <= 1 << 16 else "uint32",
        "documents": sum(e["documents"] for e in entries),
        "tokens": sum(e["tokens"] for e in entries),
        "shards": entries,
    }
    storage.write_json(fs, storage.join(output, "tokens", "manifest.json"), manifest)
    return manifest
