"""`exact_dedup`: documents with identical normalized text; the smallest doc_id of each group is kept.

Three parallel steps, each committed and skipped on re-run:
1. map (one task per part): 64-bit key of each document's normalized text, written to `partitions` files
   by key (`map/part-N/bucket-B.parquet`);
2. reduce (one task per bucket): sort by (key, doc_id); every row after the first of its key is removed
   (`removed/bucket-B.parquet`);
3. filter (one task per part): drop the part's removed ids (read from every bucket by doc_id range).
No task holds more than one part or one bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from dedup.minhasher import fast_normalize as normalize
from pipeline import corpus, storage
from pipeline.registry import param, register

REASON = "exact_dedup.duplicate"


@dataclass(frozen=True)
class ExactDedupConfig:
    partitions: int = param(16, "buckets of the key shuffle (more for bigger corpora: ~1 GB of keys each)", ge=1)
    normalize_text: bool = param(True, "compare datatrove-normalized text (case, digits, punctuation, spaces)")


@register("exact_dedup", ExactDedupConfig, kind="corpus")
class ExactDedup:
    """Remove documents whose (normalized) text is identical to one with a smaller doc_id."""

    def __init__(self, cfg: ExactDedupConfig):
        self.cfg = cfg

    def run(self, ctx: corpus.CorpusContext) -> list[dict]:
        map_dir, removed_dir = storage.join(ctx.work, "map"), storage.join(ctx.work, "removed")
        n = self.cfg.partitions
        ctx.map(map_keys, [(ctx.output, i, part, map_dir, n, self.cfg.normalize_text) for i, part in ctx.parts])
        ctx.map(reduce_bucket, [(ctx.output, b, map_dir, removed_dir) for b in range(n)])
        removal_files = [storage.join(removed_dir, f"bucket-{b:04d}.parquet") for b in range(n)]
        return ctx.map(corpus.filter_with_removals, [(ctx.dirs, i, part, removal_files) for i, part in ctx.parts])


def text_keys(texts: list[str], normalize_text: bool) -> np.ndarray:
    digest = xxhash.xxh3_64_intdigest
    keys = (digest((normalize(t) if normalize_text else t).encode()) for t in texts)
    return np.fromiter(keys, dtype=np.uint64, count=len(texts))


def map_keys(output: str, index: int, part: str, map_dir: str, partitions: int, normalize_text: bool) -> None:
    fs, _ = storage.filesystem(output)
    folder = storage.join(map_dir, f"part-{index:06d}")
    marker = storage.join(folder, "_SUCCESS.json")
    if fs.exists(marker):
        return
    docs = pq.read_table(part, columns=["doc_id", "text"], filesystem=fs)
    keys = text_keys(docs.column("text").to_pylist(), normalize_text)
    table = pa.table({"key": keys, "doc_id": docs.column("doc_id")})
    buckets = (keys % np.uint64(partitions)).astype(np.int64)
    storage.makedirs(fs, folder)
    for b in range(partitions):
        corpus.write_part(fs, storage.join(folder, f"bucket-{b:04d}.parquet"), table.filter(pa.array(buckets == b)))
    corpus.commit_marker(fs, marker, {"rows": docs.num_rows})


def reduce_bucket(output: str, bucket: int, map_dir: str, removed_dir: str) -> None:
    fs, _ = storage.filesystem(output)
    final = storage.join(removed_dir, f"bucket-{bucket:04d}.parquet")
    if fs.exists(final):
        return
    files = sorted(fs.glob(storage.join(map_dir, "part-*", f"bucket-{bucket:04d}.parquet")))
    table = pa.concat_tables([pq.read_table(f, filesystem=fs) for f in files]) if files else None
    removed = np.empty(0, dtype=np.int64)
    if table is not None and table.num_rows:
        keys, ids = table.column("key").to_numpy(), table.column("doc_id").to_numpy()
        order = np.lexsort((ids, keys))
        keys, ids = keys[order], ids[order]
        removed = ids[1:][keys[1:] == keys[:-1]]
    storage.makedirs(fs, removed_dir)
    reasons = pa.array([REASON] * len(removed), type=pa.string())
    corpus.write_part(fs, final, pa.table({"doc_id": pa.array(removed, pa.int64()), "reason": reasons}))
