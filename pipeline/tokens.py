"""Read token shards for training: documents for (rank, world_size) in a seeded order, resumable, and packed
into fixed-length sequences. `python -m pipeline tokens verify|stats OUT` checks a manifest against its shards.

Work units are (shard, row group) pairs: each epoch they are permuted by (seed, epoch) and dealt round-robin
to ranks, so ranks read disjoint data and a rank reads only its own row groups. `DocumentReader.state()` is
a small dict (epoch, unit, row) that `DocumentReader(..., state=...)` resumes from exactly.

Packing: `pack_concat` concatenates documents (their BOS/EOS are already in the tokens) and cuts windows of
`seq_len` (Megatron style: documents span windows); `pack_best_fit` places whole documents into sequences by
best fit (documents longer than `seq_len` are cut into `seq_len` pieces) and pads. Both give `input_ids`,
per-document `position_ids` and `cu_seqlens` (document boundaries, for variable-length attention).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import storage


def load_manifest(out: str) -> dict:
    fs, _ = storage.filesystem(out)
    return storage.read_json(fs, storage.join(out, "tokens", "manifest.json"))


@dataclass
class DocumentReader:
    out: str
    rank: int = 0
    world_size: int = 1
    seed: int = 0
    state: dict | None = None

    def __post_init__(self):
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} not in [0, {self.world_size})")
        self.fs, _ = storage.filesystem(self.out)
        self.manifest = load_manifest(self.out)
        self.units = self._units()
        self._state = dict(self.state or {"epoch": 0, "unit": 0, "row": 0})

    def _units(self) -> list[tuple[str, int]]:
        units = []
        for shard in self.manifest["shards"]:
            path = storage.join(self.out, "tokens", shard["path"])
            meta = pq.ParquetFile(self.fs.open(path, "rb")).metadata
            units += [(path, g) for g in range(meta.num_row_groups)]
        return units

    def my_units(self, epoch: int) -> list[tuple[str, int]]:
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.units))
        return [self.units[i] for i in order[self.rank :: self.world_size]]

    def state_dict(self) -> dict:
        return dict(self._state)

    def __iter__(self) -> Iterator[np.ndarray]:
        """Token arrays, one per document, forever (epoch after epoch); `state_dict()` tells where we are."""
        while True:
            units = self.my_units(self._state["epoch"])
            while self._state["unit"] < len(units):
                path, group = units[self._state["unit"]]
                with self.fs.open(path, "rb") as f:
                    rows = pq.ParquetFile(f).read_row_group(group, columns=["tokens"]).column("tokens")
                while self._state["row"] < len(rows):
                    tokens = rows[self._state["row"]].values.to_numpy()
                    self._state["row"] += 1
                    yield tokens
                self._state.update(unit=self._state["unit"] + 1, row=0)
            if not units:
                return
            self._state.update(epoch=self._state["epoch"] + 1, unit=0, row=0)


def _sequence(pieces: list[np.ndarray], seq_len: int, pad_id: int) -> dict:
    input_ids = np.concatenate(pieces) if pieces else np.empty(0, np.int64)
    lengths = [len(p) for p in pieces]
    position_ids = np.concatenate([np.arange(n) for n in lengths]) if pieces else np.empty(0, np.int64)
    pad = seq_len - len(input_ids)
    if pad:
        input_ids = np.concatenate((input_ids, np.full(pad, pad_id)))
        position_ids = np.concatenate((position_ids, np.arange(pad)))
    cu_seqlens = np.concatenate(([0], np.cumsum(lengths + ([pad] if pad else []))))
    return {
        "input_ids": input_ids.astype(np.int64),
        "position_ids": position_ids.astype(np.int64),
        "cu_seqlens": cu_seqlens.astype(np.int32),
    }


def pack_concat(documents: Iterator[np.ndarray], seq_len: int) -> Iterator[dict]:
    """Megatron-style: one token stream cut into windows of seq_len; a document may span two windows."""
    pieces, filled = [], 0
    for doc in documents:
        while len(doc):
            take = doc[: seq_len - filled]
            pieces.append(take)
            filled += len(take)
            doc = doc[len(take) :]
            if filled == seq_len:
                yield _sequence(pieces, seq_len, pad_id=0)
                pieces, filled = [], 0


def pack_best_fit(documents: Iterator[np.ndarray], seq_len: int, pad_id: int, buffer: int = 64) -> Iterator[dict]:
    """Whole documents into the open sequence with the least room that fits them; full ones are emitted once
    `buffer` sequences are open. Documents over seq_len are cut into seq_len pieces first."""
    open_seqs: list[list[np.ndarray]] = []
    for doc in documents:
        for start in range(0, len(doc), seq_len):
            piece = doc[start : start + seq_len]
            room = [seq_len - sum(map(len, s)) for s in open_seqs]
            fits = [i for i, r in enumerate(room) if r >= len(piece)]
            if fits:
                open_seqs[min(fits, key=lambda i: room[i])].append(piece)
            else:
                open_seqs.append([piece])
            if len(open_seqs) > buffer:
                fullest = max(range(len(open_seqs)), key=lambda i: sum(map(len, open_seqs[i])))
                yield _sequence(open_seqs.pop(fullest), seq_len, pad_id)
    for seq in open_seqs:
        yield _sequence(seq, seq_len, pad_id)


def verify(out: str) -> list[str]:
    """Problems found comparing the manifest with the shard files (empty: all good)."""
    fs, _ = storage.filesystem(out)
    manifest = load_manifest(out)
    problems = []
    for shard in manifest["shards"]:
        path = storage.join(out, "tokens", shard["path"])
        if not fs.exists(path):
            problems.append(f"{shard['path']}: missing")
            continue
        with fs.open(path, "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != shard["sha256"]:
            problems.append(f"{shard['path']}: sha256 differs from the manifest")
        # ParquetFile.read, not read_table: read_table's dataset scanner leaves a thread that can abort the
        # process at exit ("terminate called without an active exception", apache/arrow#34314).
        table = pq.ParquetFile(pa.BufferReader(data)).read(columns=["num_tokens", "tokens"], use_threads=False)
        lengths = np.array([len(t) for t in table.column("tokens").to_pylist()]) if table.num_rows else np.zeros(0)
        if table.num_rows != shard["documents"] or int(lengths.sum()) != shard["tokens"]:
            problems.append(
                f"{shard['path']}: {table.num_rows} docs / {int(lengths.sum())} tokens, manifest says "
                f"{shard['documents']} / {shard['tokens']}"
            )
        if not np.array_equal(lengths, table.column("num_tokens").to_numpy()):
            problems.append(f"{shard['path']}: num_tokens disagrees with the token lists")
    return problems


def stats(out: str) -> dict:
    manifest = load_manifest(out)
    return {
        "shards": len(manifest["shards"]),
        "documents": manifest["documents"],
        "tokens": manifest["tokens"],
        "tokens_per_document": round(manifest["tokens"] / max(1, manifest["documents"]), 1),
        "tokenizer": manifest["tokenizer"],
        "specials": manifest["specials"],
        "seed": manifest["seed"],
    }


def main_tokens(command: str, out: str) -> int:
    if command == "stats":
        print(json.dumps(stats(out), indent=1))
        return 0
    problems = verify(out)
    for p in problems:
        print(f"PROBLEM {p}")
    print("manifest and shards agree" if not problems else f"{len(problems)} problems")
    return 0 if not problems else 1


def torch_dataset(out: str, seq_len: int, packing: str = "concat", pad_id: int = 0, seed: int = 0):
    """A torch IterableDataset of packed sequences, sharded by torch.distributed rank and DataLoader worker.

    Needs the optional extra `pip install -e '.[torch]'`; everything else here works without torch.
    """
    import torch
    from torch.utils.data import IterableDataset, get_worker_info

    class PackedTokens(IterableDataset):
        def __iter__(self):
            rank, world = _torch_rank_world(torch)
            info = get_worker_info()
            workers, worker = (info.num_workers, info.id) if info else (1, 0)
            reader = DocumentReader(out, rank * workers + worker, world * workers, seed)
            docs = iter(reader)
            packed = pack_concat(docs, seq_len) if packing == "concat" else pack_best_fit(docs, seq_len, pad_id)
            for seq in packed:
                yield {k: torch.from_numpy(v) for k, v in seq.items()}

    return PackedTokens()


def _torch_rank_world(torch) -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1
