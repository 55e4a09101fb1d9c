"""`exact_dedup`: documents with identical normalized text; the smallest doc_id of each group is kept.

Steps, each committed and skipped on re-run (`core.shuffle` sizes the shuffles from the data):
1. keys (a task per part): 64-bit key of each document's normalized text, `keys/part-N.parquet`;
2. shuffle the (key, doc_id) rows into key-range buckets of at most a task's budget;
3. duplicates (a task per bucket): every row but the smallest doc_id of its key is removed;
4. removals by part, then filter (a task per part): each part reads only its own removals.
No task holds more than one part or one bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from core import corpus, shuffle, storage
from core.contracts import Contract
from core.registry import param, register
from dedup.key_groups import pairs_in_files
from dedup.minhasher import fast_normalize as normalize

REASON = "exact_dedup.duplicate"
REMOVAL_SCHEMA = pa.schema([("doc_id", pa.int64())])


@dataclass(frozen=True)
class ExactDedupConfig:
    partitions: int = param(0, "buckets of the key shuffle; 0: from the data (max_task_memory_mb)", ge=0)
    normalize_text: bool = param(True, "compare datatrove-normalized text (case, digits, punctuation, spaces)")


@register(
    "exact_dedup", ExactDedupConfig, kind="corpus", contract=Contract(needs=("text",), drop_reasons=("duplicate",))
)
class ExactDedup:
    """Remove documents whose (normalized) text is identical to one with a smaller doc_id."""

    def __init__(self, cfg: ExactDedupConfig):
        self.cfg = cfg

    def run(self, ctx: corpus.CorpusContext) -> list[dict]:
        keys_dir, removed_dir = storage.join(ctx.work, "keys"), storage.join(ctx.work, "removed")
        args = [(ctx.output, i, part, keys_dir, self.cfg.normalize_text) for i, part in ctx.parts]
        key_files = ctx.step("keys", text_key_part, args)
        _, buckets = shuffle.shuffle(ctx, "shuffle", key_files, shuffle.BucketBy("key"), self.cfg.partitions)
        args = [(ctx.output, b, files, removed_dir, ctx.task_bytes) for b, files in enumerate(buckets)]
        removal_files = ctx.step("duplicates", duplicates_in_bucket, args)
        removals = corpus.removals_by_part(ctx, removal_files)
        args = [(ctx.dirs, i, part, removals[i], REASON) for i, part in ctx.parts]
        return ctx.step("filter", corpus.filter_with_removals, args)


def text_keys(texts: list[str], normalize_text: bool) -> np.ndarray:
    digest = xxhash.xxh3_64_intdigest
    keys = (digest((normalize(t) if normalize_text else t).encode()) for t in texts)
    return np.fromiter(keys, dtype=np.uint64, count=len(texts))


def text_key_part(output: str, index: int, part: str, keys_dir: str, normalize_text: bool) -> list:
    """Task: (key, doc_id) of one part's documents; returns [path, bytes in memory]."""
    fs, _ = storage.filesystem(output)
    final = storage.join(keys_dir, f"part-{index:06d}.parquet")
    nbytes = shuffle.committed_nbytes(fs, final)
    if nbytes is None:
        docs = pq.read_table(part, columns=["doc_id", "text"], filesystem=fs)
        keys = text_keys(docs.column("text").to_pylist(), normalize_text)
        nbytes = shuffle.write_parquet(fs, final, pa.table({"key": keys, "doc_id": docs.column("doc_id")}))
    return [final, nbytes]


def duplicates_in_bucket(output: str, bucket: int, files: list[list], removed_dir: str, budget: int) -> list:
    """Task: the doc_ids of one key bucket that are not the smallest of their key; returns [path, bytes]."""
    fs, _ = storage.filesystem(output)
    final = storage.join(removed_dir, f"bucket-{bucket:06d}.parquet")
    nbytes = shuffle.committed_nbytes(fs, final)
    if nbytes is None:
        chunks = (pa.table({"doc_id": removed}) for _, removed in pairs_in_files(fs, files, budget))
        nbytes = shuffle.write_parquet_chunks(fs, final, REMOVAL_SCHEMA, chunks)
    return [final, nbytes]
