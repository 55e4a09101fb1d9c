"""`minhash_dedup`: near-duplicate removal, FineWeb's parameters, every step a set of Ray tasks over files.

1. signatures (a task per part): `sigs/part-N.parquet` (doc_id, signature) and the part's band keys
   (`keys/part-N.parquet`: key, doc_id; each band's keys are salted by the band number, so one key column
   serves all bands);
2. shuffle the band keys into key-range buckets sized from the data (`core.shuffle`);
3. edges (a task per bucket): documents sharing a key become a star around the smallest doc_id; with
   `verify_min_jaccard` > 0 a candidate pair is kept only if its estimated Jaccard reaches it;
4. connected components (dedup/cc_steps.py): large-star / small-star rounds over edge partitions sized from
   the edge count, until the exact stop test passes (at most `max_cc_rounds`);
5. removal: every document but the smallest doc_id of its component (with verification on, only those
   whose estimated Jaccard to that kept document reaches `verify_min_jaccard`: components chain, so a
   member can be far from the root though each edge is close); 6. removals by part, then filter.
One document per cluster survives, the smallest doc_id, so the result does not depend on the number of
workers, the partition counts or the order of the inputs. No task holds more than one part or one bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core import corpus, shuffle, storage
from core.contracts import Contract
from core.registry import param, register
from dedup import cc_steps
from dedup.key_groups import pairs_in_files
from dedup.minhash import MinHashParams, band_keys
from dedup.minhasher import MinHasher
from dedup.signature_store import SIG_COLUMN, agreement, sigs_path

EDGE_SCHEMA = pa.schema([("u", pa.int64()), ("v", pa.int64())])


@dataclass(frozen=True)
class MinHashDedupConfig(MinHashParams):
    """The MinHash parameters (n_grams, bands, rows, seed; FineWeb's) plus how the stage distributes work."""

    partitions: int = param(0, "buckets of the band-key shuffle; 0: from the data (max_task_memory_mb)", ge=0)
    cc_partitions: int = param(0, "edge partitions of the connected-components rounds; 0: from the data", ge=0)
    max_cc_rounds: int = param(
        100, "stop with an error if connected components has not converged after this many rounds", ge=2
    )
    verify_min_jaccard: float = param(
        0.0, "keep a candidate pair only if its estimated Jaccard >= this (0: off)", ge=0.0, le=1.0
    )

    @property
    def params(self) -> MinHashParams:
        """Only the signature parameters: what the signatures depend on (and the worker cache keys on)."""
        return MinHashParams(n_grams=self.n_grams, bands=self.bands, rows=self.rows, seed=self.seed)


# Run before line_dedup: CCNet's line dedup removes the lines two near-duplicate pages share from both copies,
# which often leaves both too short to keep; MinHash first keeps one whole copy (README "Order of the dedup stages").
MINHASH_CONTRACT = Contract(
    needs=("text",),
    drop_reasons=("duplicate",),
    warn_after=(
        (
            "line_dedup",
            "line_dedup removes the lines near-duplicate pages share from both copies (often dropping both as too "
            "short) before MinHash can keep one: put minhash_dedup before line_dedup",
        ),
    ),
)


@register("minhash_dedup", MinHashDedupConfig, kind="corpus", contract=MINHASH_CONTRACT)
class MinHashDedup:
    """Remove near-duplicates (MinHash LSH, word 5-grams, 14x8): one document kept per cluster."""

    def __init__(self, cfg: MinHashDedupConfig):
        self.cfg = cfg

    def run(self, ctx: corpus.CorpusContext) -> list[dict]:
        cfg, work = self.cfg, ctx.work
        key_files = ctx.step("signatures", signatures, [(ctx.output, i, part, work, cfg) for i, part in ctx.parts])
        _, buckets = shuffle.shuffle(ctx, "shuffle", key_files, shuffle.BucketBy("key"), cfg.partitions)
        verify = cfg.verify_min_jaccard
        args = [(ctx.output, b, files, work, verify, ctx.task_bytes) for b, files in enumerate(buckets)]
        edge_files = ctx.step("edges", bucket_edges, args)
        removal_files = cc_steps.connected_components(ctx, edge_files, cfg)
        removals = corpus.removals_by_part(ctx, removal_files)
        args = [(ctx.dirs, i, part, removals[i], cc_steps.REASON) for i, part in ctx.parts]
        return ctx.step("filter", corpus.filter_with_removals, args)


def signatures(output: str, index: int, part: str, work: str, cfg: MinHashDedupConfig) -> list:
    """Task: MinHash signatures of one part, and its band keys; returns [band-key file, bytes in memory]."""
    fs, _ = storage.filesystem(output)
    final = storage.join(work, "keys", f"part-{index:06d}.parquet")
    nbytes = shuffle.committed_nbytes(fs, final)
    if nbytes is not None:
        return [final, nbytes]
    docs = pq.read_table(part, columns=["doc_id", "text"], filesystem=fs)
    params = cfg.params
    rows, matrix = MinHasher(params).signatures(docs.column("text").to_pylist())
    ids = docs.column("doc_id").to_numpy()[rows]  # fewer words than a shingle: no signature
    sig_array = pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel(), pa.uint32()), params.num_perm)
    corpus.write_part(
        fs, sigs_path(work, index), pa.table({"doc_id": pa.array(ids, pa.int64()), SIG_COLUMN: sig_array})
    )
    keys = band_keys(matrix, params)  # (docs, bands)
    table = pa.table({"key": keys.ravel(), "doc_id": pa.array(np.repeat(ids, params.bands), pa.int64())})
    return [final, shuffle.write_parquet(fs, final, table)]


def bucket_edges(output: str, bucket: int, files: list[list], work: str, verify: float, budget: int) -> list:
    """Task: candidate pairs of one key bucket, as stars around the smallest doc_id of each key; returns
    [edge file, bytes in memory]."""
    fs, _ = storage.filesystem(output)
    final = storage.join(work, "edges", f"bucket-{bucket:06d}.parquet")
    nbytes = shuffle.committed_nbytes(fs, final)
    if nbytes is None:
        chunks = (_edge_table(fs, work, u, v, verify) for u, v in pairs_in_files(fs, files, budget))
        nbytes = shuffle.write_parquet_chunks(fs, final, EDGE_SCHEMA, chunks)
    return [final, nbytes]


def _edge_table(fs, work: str, u: np.ndarray, v: np.ndarray, verify_min_jaccard: float) -> pa.Table:
    """One edge per pair of documents (two documents share several bands' keys), verified if asked."""
    if u.size:
        pairs = np.unique(np.stack((u, v), axis=1), axis=0)
        u, v = pairs[:, 0], pairs[:, 1]
    if verify_min_jaccard > 0 and u.size:
        keep = agreement(fs, work, u, v) >= verify_min_jaccard
        u, v = u[keep], v[keep]
    return pa.table({"u": pa.array(u, pa.int64()), "v": pa.array(v, pa.int64())})
