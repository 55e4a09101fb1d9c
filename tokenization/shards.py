"""`tokenize`: the kept documents as Parquet token shards a trainer can read, globally shuffled, seeded.

Steps (Ray tasks, each committed with a marker, skipped on re-run):
1. tokenize (a task per part): encode with the specials policy; each document gets a shuffle key
   xxh3(seed, doc_id) (`work/tokenize/tokens/part-N.parquet`);
2. shuffle by key into buckets sized from the data (`core.shuffle`): enough that no bucket exceeds a
   task's budget or, by more than chance, `shard_tokens`;
3. shards (a task per bucket): sort the bucket by key, cut shards of `shard_tokens` tokens (usually one per
   bucket), write `tokens/shards/shard-BBBBBB-KKKK.parquet` (a folder of Parquet only, for
   pyarrow/DuckDB/datasets): zstd, dictionary encoding off for the tokens column, row groups of about
   `row_group_tokens` tokens; the task counts and hashes each shard as it writes it;
4. manifest (driver): `tokens/manifest.json`, written last, from what the shard tasks recorded.
The order of documents is a function of (seed, doc_id) only, so shards are byte-identical whatever the
number of workers. Columns: `tokens` list<uint16> (uint32 for vocabularies over 65,536), `num_tokens`,
`doc_id` and `id` (join with docs/), `source`, `quality_score` (null when no quality classifier ran), `perplexity`
and `ccnet_bucket` (null when no perplexity stage ran).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from core import corpus, shuffle, storage
from core.contracts import Contract
from core.registry import param, register
from core.stats import StageStats
from tokenization.tokenizer import SPECIALS, cached_tokenizer

SHARD_FILL = 1.1  # buckets per shard_tokens of input: a bucket averages ~91% of a shard


@dataclass(frozen=True)
class TokenizeConfig:
    tokenizer_path: str = param(
        "", "SentencePiece .model or HF tokenizer.json; empty: shipped Mistral v1 (LLaMA-style)", is_file=True
    )
    specials: str = param("bos_eos", "bos_eos (LLaMA) | eos_only | none: ids added by our code", choices=SPECIALS)
    seed: int = param(0, "seed of the global shuffle of documents", ge=0)
    shard_tokens: int = param(100_000_000, "tokens per shard file, about", ge=1)
    row_group_tokens: int = param(4_000_000, "tokens per Parquet row group, about", ge=1)
    buckets: int = param(0, "shuffle buckets (a shard-writing task holds one); 0: from the data", ge=0)
    num_threads: int = param(1, "SentencePiece encoding threads per task", ge=1)


@register(
    "tokenize", TokenizeConfig, kind="corpus", contract=Contract(needs=("text",), last=True, rewrites_docs=False)
)
class TokenizeStage:
    """Tokenize the kept documents into globally shuffled Parquet token shards plus a manifest."""

    def __init__(self, cfg: TokenizeConfig):
        self.cfg = cfg

    def run(self, ctx: corpus.CorpusContext) -> list[dict]:
        cfg = self.cfg
        parts = ctx.step("tokenize", tokenize_part, [(ctx.dirs, i, part, cfg) for i, part in ctx.parts])
        tokens = sum(p["stats"]["tokens"] for p in parts)
        # ~10% under shard_tokens a bucket on average, so that chance rarely pushes one over and cuts a stub shard
        min_buckets = math.ceil(tokens * SHARD_FILL / cfg.shard_tokens)
        inputs = [p["file"] for p in parts]
        _, buckets = shuffle.shuffle(ctx, "shuffle", inputs, shuffle.BucketBy("key"), cfg.buckets, min_buckets)
        args = [(ctx.output, b, [f for f, _ in files], ctx.work, cfg) for b, files in enumerate(buckets)]
        shards = ctx.step("shards", write_bucket_shards, args)
        write_manifest(ctx.output, [s for bucket in shards for s in bucket], cfg)
        return [p["stats"] for p in parts]


def shard_schema(dtype) -> pa.Schema:
    return pa.schema(
        [
            ("tokens", pa.list_(pa.uint16() if dtype == np.uint16 else pa.uint32())),
            ("num_tokens", pa.int32()),
            ("doc_id", pa.int64()),
            ("id", pa.string()),
            ("source", pa.string()),
            ("quality_score", pa.float32()),
            ("perplexity", pa.float64()),
            ("ccnet_bucket", pa.string()),
        ]
    )


def tokenize_part(dirs: corpus.StageDirs, index: int, part: str, cfg: TokenizeConfig) -> dict:
    """Task: one part's token table with its shuffle keys, then its stats; returns both."""
    fs, _ = storage.filesystem(dirs.output)
    final = storage.join(dirs.work, "tokens", f"part-{index:06d}.parquet")
    if fs.exists(dirs.stats_path(index)):
        return {"stats": storage.read_json(fs, dirs.stats_path(index)), "file": [final, committed(fs, final)]}
    started = time.perf_counter()
    docs = pq.read_table(part, filesystem=fs)
    tokenizer = cached_tokenizer(cfg.tokenizer_path, cfg.specials, cfg.num_threads)
    ids = tokenizer.encode_batch(docs.column("text").to_pylist())
    table = _token_table(docs, ids, tokenizer.dtype)
    keys = shuffle_keys(docs.column("doc_id").to_numpy(), cfg.seed)
    nbytes = shuffle.write_parquet(fs, final, table.append_column("key", pa.array(keys, pa.uint64())))
    stats = StageStats(dirs.name, docs_in=docs.num_rows, docs_out=docs.num_rows, tokens=int(sum(map(len, ids))))
    stats.bytes_in = stats.bytes_out = corpus.text_bytes(docs)
    stats.seconds = time.perf_counter() - started
    storage.write_json(fs, dirs.stats_path(index), stats.to_dict())
    return {"stats": stats.to_dict(), "file": [final, nbytes]}


def committed(fs, path: str) -> int:
    nbytes = shuffle.committed_nbytes(fs, path)
    if nbytes is None:
        raise FileNotFoundError(f"{path}: missing, though its part's stats are committed")
    return nbytes


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
            "perplexity": _column_or_nulls(docs, "perplexity", pa.float64()),
            "ccnet_bucket": _column_or_nulls(docs, "ccnet_bucket", pa.string()),
        },
        schema=schema,
    )


def _column_or_nulls(docs: pa.Table, name: str, type_: pa.DataType):
    return pc.cast(docs.column(name), type_) if name in docs.column_names else pa.nulls(docs.num_rows, type_)


def shuffle_keys(doc_ids: np.ndarray, seed: int) -> np.ndarray:
    """A document's place in the global order: a hash of (seed, doc_id), nothing about who computed it."""
    digest = xxhash.xxh3_64_intdigest
    return np.fromiter((digest(int(d).to_bytes(8, "little"), seed) for d in doc_ids), np.uint64, len(doc_ids))


def write_bucket_shards(output: str, bucket: int, files: list[str], work: str, cfg: TokenizeConfig) -> list[dict]:
    """Task: one bucket's documents in key order as shards; returns each shard's path, counts and sha256."""
    fs, _ = storage.filesystem(output)
    marker = storage.join(work, "shards", f"bucket-{bucket:06d}.json")
    if fs.exists(marker):
        return storage.read_json(fs, marker)["shards"]
    table = shuffle.read_tables(fs, files)
    shards = []
    if table is not None:
        # the bucket stays in read order; each row group is taken in key order as it is written (one copy of a
        # row group at a time, not of the bucket)
        order = pc.sort_indices(table, sort_keys=[("key", "ascending"), ("doc_id", "ascending")]).to_numpy()
        table = table.drop_columns(["key"]).replace_schema_metadata(None)
        num_tokens = table.column("num_tokens").to_numpy()[order]
        for k, (start, stop) in enumerate(_cuts(num_tokens, cfg.shard_tokens)):
            relative = f"shards/shard-{bucket:06d}-{k:04d}.parquet"
            rows, lengths = order[start:stop], num_tokens[start:stop]
            sha256 = _write_shard(fs, storage.join(output, "tokens", relative), table, rows, lengths, cfg)
            shards.append({"path": relative, "documents": len(rows), "tokens": int(lengths.sum()), "sha256": sha256})
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


def _write_shard(fs, path: str, table: pa.Table, rows: np.ndarray, lengths: np.ndarray, cfg: TokenizeConfig) -> str:
    """Write rows `rows` of `table` as one shard; returns the sha256 of the bytes written (no read-back)."""
    with storage.open_for_commit(fs, path) as f:
        sink = HashingWriter(f)
        # dictionary encoding off for token lists: ids repeat too little for it to pay (~0.95 bytes/token with zstd)
        with pq.ParquetWriter(
            sink, table.schema, compression="zstd", use_dictionary=["id", "source", "ccnet_bucket"]
        ) as writer:
            for start, stop in _cuts(lengths, cfg.row_group_tokens):
                writer.write_table(table.take(pa.array(rows[start:stop])), row_group_size=stop - start)
    return sink.hexdigest()


class HashingWriter:
    """A write-only file that forwards to `f` and hashes what passes (pyarrow writes a Parquet file in order)."""

    def __init__(self, f):
        self.f, self.hash, self.position, self.closed = f, hashlib.sha256(), 0, False

    def write(self, data) -> int:
        self.hash.update(data)
        self.position += len(data)
        return self.f.write(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True  # the underlying file is committed by its owner

    def writable(self) -> bool:
        return True

    def hexdigest(self) -> str:
        return self.hash.hexdigest()


def write_manifest(output: str, shards: list[dict], cfg: TokenizeConfig) -> dict:
    """Written last, from the counts and checksums the shard tasks recorded as they wrote."""
    fs, _ = storage.filesystem(output)
    info = cached_tokenizer(cfg.tokenizer_path, cfg.specials).info
    manifest = {
        "tokenizer": {"name": info.name, "sha256": info.sha256, "vocab_size": info.vocab_size},
        "bos_id": info.bos_id,
        "eos_id": info.eos_id,
        "specials": cfg.specials,
        "seed": cfg.seed,
        "token_dtype": "uint16" if info.vocab_size <= 1 << 16 else "uint32",
        "documents": sum(e["documents"] for e in shards),
        "tokens": sum(e["tokens"] for e in shards),
        "shards": shards,
    }
    storage.write_json(fs, storage.join(output, "tokens", "manifest.json"), manifest)
    return manifest
