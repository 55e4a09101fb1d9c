"""`minhash_dedup`: near-duplicate removal, FineWeb's parameters, every step a set of Ray tasks over files.

1. signatures (a task per part): `sigs/part-N.parquet` (doc_id, signature) and the part's band keys,
   spread over `partitions` files by key (`keys/part-N/bucket-B.parquet`);
2. edges (a task per bucket): documents sharing a (band, key) become a star around the smallest doc_id;
   with `verify_min_jaccard` > 0 a candidate pair is kept only if its estimated Jaccard reaches it;
3. connected components (dedup/cc_steps.py): large-star / small-star rounds over `cc_partitions` files
   until the exact stop test passes;
4. removal: every document but the smallest doc_id of its component (with verification on, only those
   whose estimated Jaccard to that kept document reaches `verify_min_jaccard`: components chain, so a
   member can be far from the root though each edge is close); 5. filter (a task per part).
One document per cluster survives, the smallest doc_id, so the result does not depend on the number of
workers or the order of the inputs. No task holds more than one part, one bucket or one partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dedup import cc_steps
from dedup.minhash import MinHashParams, band_keys
from dedup.minhasher import MinHasher
from dedup.signature_store import SIG_COLUMN, agreement
from pipeline import corpus, storage
from pipeline.registry import param, register


@dataclass(frozen=True)
class MinHashDedupConfig(MinHashParams):
    """The MinHash parameters (n_grams, bands, rows, seed; FineWeb's) plus how the stage distributes work."""

    partitions: int = param(16, "buckets of the band-key shuffle", ge=1)
    cc_partitions: int = param(16, "edge partitions of the connected-components rounds", ge=1)
    verify_min_jaccard: float = param(
        0.0, "keep a candidate pair only if its estimated Jaccard >= this (0: off)", ge=0.0, le=1.0
    )

    @property
    def params(self) -> MinHashParams:
        """Only the signature parameters: what the signatures depend on (and the worker cache keys on)."""
        return MinHashParams(n_grams=self.n_grams, bands=self.bands, rows=self.rows, seed=self.seed)


@register("minhash_dedup", MinHashDedupConfig, kind="corpus")
class MinHashDedup:
    """Remove near-duplicates (MinHash LSH, word 5-grams, 14x8): one document kept per cluster."""

    def __init__(self, cfg: MinHashDedupConfig):
        self.cfg = cfg

    def run(self, ctx: corpus.CorpusContext) -> list[dict]:
        cfg, work = self.cfg, ctx.work
        ctx.map(signatures, [(ctx.output, i, part, work, cfg) for i, part in ctx.parts])
        edge_files = ctx.map(bucket_edges, [(ctx.output, b, work, cfg) for b in range(cfg.partitions)])
        removal_files = cc_steps.connected_components(ctx, edge_files, cfg.cc_partitions, cfg.verify_min_jaccard)
        return ctx.map(corpus.filter_with_removals, [(ctx.dirs, i, part, removal_files) for i, part in ctx.parts])


def signatures(output: str, index: int, part: str, work: str, cfg: MinHashDedupConfig) -> None:
    """Task: MinHash signatures of one part, and its band keys spread over the key buckets."""
    fs, _ = storage.filesystem(output)
    folder = storage.join(work, "keys", f"part-{index:06d}")
    marker = storage.join(folder, "_SUCCESS.json")
    if fs.exists(marker):
        return
    docs = pq.read_table(part, columns=["doc_id", "text"], filesystem=fs)
    params = cfg.params
    rows, matrix = MinHasher(params).signatures(docs.column("text").to_pylist())
    ids = docs.column("doc_id").to_numpy()[rows].tolist()  # fewer words than a shingle: no signature
    sig_array = pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel(), pa.uint32()), params.num_perm)
    corpus.write_part(
        fs,
        storage.join(work, "sigs", f"part-{index:06d}.parquet"),
        pa.table({"doc_id": pa.array(ids, pa.int64()), SIG_COLUMN: sig_array}),
    )
    _write_band_keys(fs, folder, np.array(ids, np.int64), band_keys(matrix, params), cfg.partitions)
    corpus.commit_marker(fs, marker, {"docs": docs.num_rows, "signatures": len(ids)})


def _write_band_keys(fs, folder: str, ids: np.ndarray, keys: np.ndarray, partitions: int) -> None:
    n, bands = keys.shape
    flat_keys = keys.ravel()
    flat_band = np.tile(np.arange(bands, dtype=np.uint8), n)
    flat_ids = np.repeat(ids, bands)
    bucket = (flat_keys % np.uint64(partitions)).astype(np.int64)
    for b in range(partitions):
        mask = bucket == b
        table = pa.table({"band": flat_band[mask], "key": flat_keys[mask], "doc_id": flat_ids[mask]})
        corpus.write_part(fs, storage.join(folder, f"bucket-{b:04d}.parquet"), table)


def bucket_edges(output: str, bucket: int, work: str, cfg: MinHashDedupConfig) -> str:
    """Task: candidate pairs of one key bucket, as stars around the smallest doc_id of each (band, key)."""
    fs, _ = storage.filesystem(output)
    final = storage.join(work, "edges", f"bucket-{bucket:04d}.parquet")
    if fs.exists(final):
        return final
    files = sorted(fs.glob(storage.join(work, "keys", "part-*", f"bucket-{bucket:04d}.parquet")))
    table = pa.concat_tables([pq.read_table(f, filesystem=fs) for f in files]) if files else None
    u = v = np.empty(0, np.int64)
    if table is not None and table.num_rows:
        u, v = star_edges(
            table.column("band").to_numpy(), table.column("key").to_numpy(), table.column("doc_id").to_numpy()
        )
    if cfg.verify_min_jaccard > 0 and u.size:
        u, v = _verified(fs, work, u, v, cfg.verify_min_jaccard)
    corpus.write_part(fs, final, pa.table({"u": pa.array(u, pa.int64()), "v": pa.array(v, pa.int64())}))
    return final


def star_edges(band: np.ndarray, key: np.ndarray, doc_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Within each run of equal (band, key), an edge from its smallest doc_id to every other one."""
    order = np.lexsort((doc_id, key, band))
    band, key, doc_id = band[order], key[order], doc_id[order]
    starts = np.ones(len(key), dtype=bool)
    starts[1:] = (key[1:] != key[:-1]) | (band[1:] != band[:-1])
    first = doc_id[np.maximum.accumulate(np.where(starts, np.arange(len(key)), 0))]
    others = ~starts
    return first[others], doc_id[others]


def _verified(fs, work: str, u: np.ndarray, v: np.ndarray, min_jaccard: float) -> tuple[np.ndarray, np.ndarray]:
    """Keep the pairs whose signatures agree on at least `min_jaccard` of their values."""
    pairs = np.unique(np.stack((u, v), axis=1), axis=0)
    keep = agreement(fs, work, pairs[:, 0], pairs[:, 1]) >= min_jaccard
    return pairs[keep, 0], pairs[keep, 1]
