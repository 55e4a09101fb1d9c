"""Read token shards for training: equal, disjoint shares per rank in a seeded order, packed into fixed-length
sequences, resumable exactly. `python -m pipeline tokens verify|stats OUT` checks a manifest against its shards.

Ranks: each epoch, all row groups are permuted by (seed, epoch) into one stream of T tokens. Rank r of W reads
the r-th of W equal contiguous slices of it (only the row groups that slice touches): S * seq_len tokens,
S = T // (W * seq_len), so every rank yields exactly S sequences per epoch whatever the number of row groups,
and none ends while another reads on (which hangs a DDP job). Dropped to equalize: the last T - W * S * seq_len
tokens of each epoch's order (under W * seq_len; other documents each epoch); the W - 1 documents that straddle
two slices are cut there. S = 0 is an error at construction. `DocumentReader` yields slices of T // W tokens.

Packing (`SequenceReader`): `concat` cuts the slice into windows of seq_len (Megatron style: documents span
windows, each piece with its own position_ids); `best_fit` packs each row group's part of the slice by best-fit
decreasing (documents over seq_len cut into seq_len pieces; 0.1% padding at seq_len 4096, 4 M-token row groups,
lognormal lengths) in a seeded order and stops at S, so the real tokens past the S-th sequence, exactly as many
as the padding in the first S, are dropped too. Sequences carry `input_ids`, per-document `position_ids` and
`cu_seqlens` (document boundaries, for variable-length attention).

`state_dict()` is a dict of ints; `load_state_dict()` (or `state=`) resumes the very stream: concat at the next
window, best_fit by packing the current row group again and skipping what it emitted. `pack_concat` and
`pack_best_fit` pack any iterator of documents, with no resume and no rank balance.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import storage

PACKINGS = ("concat", "best_fit")


def load_manifest(out: str) -> dict:
    fs, _ = storage.filesystem(out)
    return storage.read_json(fs, storage.join(out, "tokens", "manifest.json"))


def _row_groups(fs, out: str, manifest: dict) -> list[tuple[str, int, int]]:
    """(path, row group, tokens) of every row group; tokens counted from the Parquet footers."""
    units = []
    for shard in manifest["shards"]:
        path = storage.join(out, "tokens", shard["path"])
        with fs.open(path, "rb") as f:
            parquet = pq.ParquetFile(f)
            meta, groups = parquet.metadata, range(parquet.metadata.num_row_groups)
            leaf = next(i for i in range(meta.num_columns) if meta.schema.column(i).path.startswith("tokens."))
            counts = [meta.row_group(g).column(leaf).num_values for g in groups]
            if sum(counts) != shard["tokens"]:  # num_values counts an empty list as one value: read num_tokens
                counts = [pc.sum(parquet.read_row_group(g, columns=["num_tokens"])[0]).as_py() or 0 for g in groups]
        units += [(path, g, int(n)) for g, n in zip(groups, counts)]
    return units


@dataclass
class _Slices:
    """Rank `rank` of `world_size`'s slice of each epoch's token stream. Iterating reads from the state's epoch
    until epoch `epochs` (1: one epoch, then the iteration ends; None: forever)."""

    out: str
    rank: int = 0
    world_size: int = 1
    seed: int = 0
    state: dict | None = None
    epochs: int | None = 1

    def _setup(self, quantum: int, what: str) -> None:
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} not in [0, {self.world_size})")
        self.fs, _ = storage.filesystem(self.out)
        self.units = _row_groups(self.fs, self.out, load_manifest(self.out))
        total = sum(n for _, _, n in self.units)
        self.slice_tokens = total // (self.world_size * quantum) * quantum
        if not self.slice_tokens:
            raise ValueError(
                f"{total} tokens cannot give each of {self.world_size} readers (ranks x DataLoader workers) {what}: "
                "use fewer ranks or workers, or shorter sequences"
            )
        self.load_state_dict(self.state or self._start(0))

    def state_dict(self) -> dict:
        return dict(self._state)

    def load_state_dict(self, state: dict) -> None:
        if set(state) != set(self._start(0)):
            raise ValueError(f"not a {type(self).__name__} state: {sorted(state)}, not {sorted(self._start(0))}")
        self._state = {k: int(v) for k, v in state.items()}

    def __iter__(self) -> Iterator:
        while self.epochs is None or self._state["epoch"] < self.epochs:
            yield from self._epoch(self._state["epoch"])
            self._state = self._start(self._state["epoch"] + 1)

    def _chunks(self, epoch: int, start: int) -> Iterator[tuple[int, list[np.ndarray]]]:
        """(offset in the slice, documents) for each row group the slice touches, from token `start` of the slice."""
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.units))
        ends = np.cumsum([self.units[u][2] for u in order])
        lo = self.rank * self.slice_tokens
        first, hi = lo + start, lo + self.slice_tokens
        for k in range(int(np.searchsorted(ends, first, side="right")), len(order)):
            begin = int(ends[k]) - self.units[order[k]][2]
            if begin >= hi:
                return
            tokens, offsets = self._read(order[k])
            cuts = np.unique(np.clip(offsets, max(first, begin) - begin, min(hi, int(ends[k])) - begin))
            yield begin + int(cuts[0]) - lo, [tokens[a:b] for a, b in zip(cuts[:-1], cuts[1:])]

    def _read(self, unit: int) -> tuple[np.ndarray, np.ndarray]:
        path, group, n = self.units[unit]
        with self.fs.open(path, "rb") as f:
            column = pq.ParquetFile(f).read_row_group(group, columns=["tokens"]).column("tokens")
        tokens = pc.list_flatten(column).to_numpy()
        if len(tokens) != n:
            raise ValueError(f"{path} row group {group}: {len(tokens)} tokens, {n} when the reader started")
        return tokens, np.concatenate(([0], np.cumsum(pc.list_value_length(column).to_numpy())))


@dataclass
class DocumentReader(_Slices):
    """Token arrays, one per document (cut at the slice's ends), of this rank's slice of T // world_size tokens;
    `epochs` as in SequenceReader. State: {epoch, token (offset in the slice)}."""

    def __post_init__(self):
        self._setup(1, "a token")

    def _start(self, epoch: int) -> dict:
        return {"epoch": epoch, "token": 0}

    def _epoch(self, epoch: int) -> Iterator[np.ndarray]:
        for _, docs in self._chunks(epoch, self._state["token"]):
            for doc in docs:
                self._state["token"] += len(doc)
                yield doc


@dataclass(kw_only=True)
class SequenceReader(_Slices):
    """Packed sequences (int64 input_ids and position_ids, int32 cu_seqlens), exactly S = T // (world_size *
    seq_len) per epoch on every rank (module docstring). Iterating goes from the state's epoch up to `epochs`
    (default 1: one epoch, then the loop ends; None: forever). State: {epoch, sequence (emitted this epoch), token
    (where in the slice packing restarts), skip (sequences to skip from there)}."""

    seq_len: int
    packing: str = "concat"  # concat | best_fit
    pad_id: int = 0  # best_fit only

    def __post_init__(self):
        if self.packing not in PACKINGS or self.seq_len < 1:
            raise ValueError(f"packing {self.packing!r} (one of {PACKINGS}), seq_len {self.seq_len} (at least 1)")
        self._setup(self.seq_len, f"one sequence of {self.seq_len}")
        self.sequences = self.slice_tokens // self.seq_len

    def _start(self, epoch: int) -> dict:
        return {"epoch": epoch, "sequence": 0, "token": 0, "skip": 0}

    def _epoch(self, epoch: int) -> Iterator[dict]:
        state, chunks = self._state, self._chunks(epoch, self._state["token"])
        if self.packing == "concat":  # the slice holds exactly S windows
            for seq in pack_concat((doc for _, docs in chunks for doc in docs), self.seq_len):
                state.update(sequence=state["sequence"] + 1, token=state["token"] + self.seq_len)
                yield seq
            return
        skip = state["skip"]
        for offset, docs in chunks:
            bins = _best_fit(docs, self.seq_len)
            order = np.random.default_rng([self.seed, epoch, self.rank, offset]).permutation(len(bins))
            for j in range(skip, len(bins)):
                if state["sequence"] == self.sequences:
                    return
                state.update(sequence=state["sequence"] + 1, token=offset, skip=j + 1)
                yield _sequence(bins[order[j]], self.seq_len, self.pad_id)
            skip = 0


def _best_fit(docs: list[np.ndarray], seq_len: int) -> list[list[np.ndarray]]:
    """Best-fit decreasing: pieces (documents cut into seq_len pieces), longest first, each into the sequence
    with the least room that fits it."""
    pieces = sorted((doc[i : i + seq_len] for doc in docs for i in range(0, len(doc), seq_len)), key=len, reverse=True)
    bins: list[list[np.ndarray]] = []
    rooms: list[tuple[int, int]] = []  # (room, bin) of the bins not full, sorted
    for piece in pieces:
        k = bisect.bisect_left(rooms, (len(piece), -1))
        if k < len(rooms):
            room, b = rooms.pop(k)
        else:
            room, b = seq_len, len(bins)
            bins.append([])
        bins[b].append(piece)
        if room > len(piece):
            bisect.insort(rooms, (room - len(piece), b))
    return bins


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


def pack_best_fit(documents: Iterator[np.ndarray], seq_len: int, pad_id: int, buffer: int = 1024) -> Iterator[dict]:
    """Best-fit decreasing (`_best_fit`) over windows of whole documents, `buffer` sequences' worth of tokens
    each: ~0.1% padding at 1024 (1% at 64) with seq_len 4096 on lognormal document lengths."""
    window, filled = [], 0
    for doc in documents:
        window.append(doc)
        filled += len(doc)
        if filled >= buffer * seq_len:
            yield from (_sequence(b, seq_len, pad_id) for b in _best_fit(window, seq_len))
            window, filled = [], 0
    yield from (_sequence(b, seq_len, pad_id) for b in _best_fit(window, seq_len))


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


def torch_dataset(
    out: str, seq_len: int, packing: str = "concat", pad_id: int = 0, seed: int = 0, epochs: int | None = 1
):
    """A torch IterableDataset of packed sequences: one SequenceReader per (torch.distributed rank, DataLoader
    worker), so every rank and worker yields the same number of sequences. Each iteration reads `epochs` epochs
    (None: forever) from epoch 0, or from the one last given to `set_epoch` (as with DistributedSampler; without
    persistent_workers). Needs the optional extra `pip install -e '.[torch]'`; nothing else here needs torch.
    """
    import torch
    from torch.utils.data import IterableDataset, get_worker_info

    class PackedTokens(IterableDataset):
        first_epoch = 0

        def set_epoch(self, epoch: int) -> None:
            self.first_epoch = epoch

        def __iter__(self):
            rank, world = _torch_rank_world(torch)
            info = get_worker_info()
            workers, worker = (info.num_workers, info.id) if info else (1, 0)
            ranks, last = (rank * workers + worker, world * workers), epochs and self.first_epoch + epochs
            reader = SequenceReader(out, *ranks, seed, epochs=last, seq_len=seq_len, packing=packing, pad_id=pad_id)
            reader.load_state_dict(reader.state_dict() | {"epoch": self.first_epoch})
            for seq in reader:
                yield {k: torch.from_numpy(v) for k, v in seq.items()}

    return PackedTokens()


def _torch_rank_world(torch) -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1
