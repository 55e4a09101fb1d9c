"""The training reader on small shard sets written by the tokenize stage's own writer: `epochs=` ends the
iteration; a reader resumed from `state_dict()` taken after any sequence or document reads the rest of the
uninterrupted stream token for token, in every packing mode; every rank (and rank x DataLoader worker) yields
the same number of sequences per epoch whatever the row groups, the ranks together read every token at most
once, and what they leave is exactly the tail of the epoch's order (plus, under best_fit, as many real tokens
as the padding)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pyarrow as pa
import pytest

from core import storage
from pipeline.tokens import DocumentReader, SequenceReader, verify
from tokenization.shards import TokenizeConfig, _token_table, _write_shard

SEQ_LEN = 64
MODES = ("documents", "concat", "best_fit")


def write_shards(out, shard_lengths: list[list[int]], row_group_tokens: int) -> np.ndarray:
    """Shards (row groups of about `row_group_tokens`) and a manifest. Token ids are 3, 4, 5, ... in write order,
    so every token is unique and 0 (padding) never occurs; returns the document starts."""
    fs, _ = storage.filesystem(str(out))
    entries, next_id, starts = [], 3, []
    for s, lengths in enumerate(shard_lengths):
        ids = []
        for n in lengths:
            starts.append(next_id)
            ids.append(np.arange(next_id, next_id + n, dtype=np.uint32))
            next_id += n
        table = _token_table(pa.table({"doc_id": pa.array(range(len(ids)), pa.int64())}), ids, np.uint32)
        relative = f"shards/shard-{s:06d}-0000.parquet"
        path, cfg = str(out / "tokens" / relative), TokenizeConfig(row_group_tokens=row_group_tokens)
        sha256 = _write_shard(fs, path, table, np.arange(len(ids)), np.array(lengths), cfg)
        entries.append({"path": relative, "documents": len(ids), "tokens": sum(lengths), "sha256": sha256})
    manifest = {"documents": sum(map(len, shard_lengths)), "tokens": next_id - 3, "shards": entries}
    (out / "tokens" / "manifest.json").write_text(json.dumps(manifest))
    assert verify(str(out)) == []
    return np.array(starts)


@pytest.fixture(scope="module")
def uneven(tmp_path_factory):
    """~8,000 tokens in 2 shards, row groups of 1,500 to 2,000 tokens; documents of 0 to 300 tokens."""
    out = tmp_path_factory.mktemp("uneven")
    rng = np.random.default_rng(7)
    lengths = [rng.integers(1, 200, 45).tolist() + [0, 300], rng.integers(1, 200, 35).tolist() + [250]]
    return out, write_shards(out, lengths, row_group_tokens=1500)


@pytest.fixture(scope="module")
def three_groups(tmp_path_factory):
    """3 row groups of ~1,000, ~2,500 and ~1,500 tokens: fewer than most world sizes tested."""
    out = tmp_path_factory.mktemp("three")
    rng = np.random.default_rng(8)
    lengths = [rng.integers(10, 70, 25).tolist(), rng.integers(10, 190, 40).tolist()]
    return out, write_shards(out, lengths, row_group_tokens=2500)


def make(out, mode: str, rank: int = 0, world_size: int = 1, **kw):
    if mode == "documents":
        return DocumentReader(str(out), rank, world_size, seed=5, **kw)
    return SequenceReader(str(out), rank, world_size, seed=5, seq_len=SEQ_LEN, packing=mode, **kw)


def tokens_of(items: list, mode: str) -> np.ndarray:
    """Real tokens, in stream order (padding is 0)."""
    flat = [np.asarray(x if mode == "documents" else x["input_ids"]) for x in items]
    flat = np.concatenate(flat) if flat else np.empty(0, np.int64)
    return flat[flat != 0]


def epoch_stream(out, epoch: int) -> np.ndarray:
    """Epoch `epoch`'s order of all tokens: one DocumentReader for a world of one drops nothing."""
    return tokens_of(list(make(out, "documents", epochs=epoch + 1, state={"epoch": epoch, "token": 0})), "documents")


def same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return np.array_equal(a, b) and a.dtype == b.dtype


@pytest.mark.parametrize("mode", MODES)
def test_one_epoch_by_default_then_as_many_as_asked(uneven, mode):
    out, _ = uneven
    first = list(make(out, mode))  # ends: one epoch by default
    two = list(make(out, mode, epochs=2))
    assert len(two) == 2 * len(first) and all(same(a, b) for a, b in zip(first, two))
    assert not np.array_equal(tokens_of(two[: len(first)], mode), tokens_of(two[len(first) :], mode))
    forever = make(out, mode, epochs=None)
    assert len(list(itertools.islice(forever, 3 * len(two)))) == 3 * len(two)
    assert forever.state_dict()["epoch"] >= 5


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rank", [0, 2])
def test_resume_at_every_cut_is_the_rest_of_the_stream(uneven, mode, rank):
    out, doc_starts = uneven
    full = list(make(out, mode, rank, 3, epochs=2))
    assert len(full) > 40
    for cut in range(len(full) + 1):
        reader = make(out, mode, rank, 3, epochs=2)
        head = list(itertools.islice(reader, cut))
        state = json.loads(json.dumps(reader.state_dict()))  # plain ints: goes into any checkpoint
        resumed = make(out, mode, rank, 3, epochs=2)
        resumed.load_state_dict(state)
        rest = list(resumed)
        assert len(head) + len(rest) == len(full), cut
        assert all(same(a, b) for a, b in zip(head + rest, full)), cut
    if mode == "concat":  # some cuts fall inside a document that runs across a window boundary
        assert sum(int(seq["input_ids"][0]) not in set(doc_starts) for seq in full[1:]) > 10


def test_state_argument_and_a_foreign_state(uneven):
    out, _ = uneven
    reader = make(out, "best_fit", 1, 2)
    head = list(itertools.islice(reader, 5))
    rest = list(make(out, "best_fit", 1, 2, state=reader.state_dict()))
    assert all(same(a, b) for a, b in zip(head + rest, list(make(out, "best_fit", 1, 2))))
    with pytest.raises(ValueError, match="not a SequenceReader state"):
        reader.load_state_dict({"epoch": 0, "unit": 0, "row": 0})  # the old reader's state


@pytest.mark.parametrize("shards", ["uneven", "three_groups"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("world_size", range(1, 9))
def test_every_rank_gets_as_much_and_the_ranks_drop_only_the_tail(request, shards, mode, world_size):
    out, _ = request.getfixturevalue(shards)
    stream = epoch_stream(out, 0)
    total = len(stream)
    quantum = 1 if mode == "documents" else SEQ_LEN
    share = total // (world_size * quantum) * quantum  # tokens in each rank's slice
    read = []
    for rank in range(world_size):
        reader = make(out, mode, rank, world_size)
        items = list(reader)
        if mode != "documents":
            assert len(items) == share // SEQ_LEN  # the same number of sequences on every rank
        if shards == "three_groups":
            assert len(reader.units) == 3
        got, mine = tokens_of(items, mode), stream[rank * share : (rank + 1) * share]
        if mode == "best_fit":  # real tokens past the S-th sequence are dropped: as many as the padding
            padding = sum(int((seq["input_ids"] == 0).sum()) for seq in items)
            assert set(got.tolist()) <= set(mine.tolist()) and len(got) == share - padding
        else:
            assert np.array_equal(got, mine)  # the rank's slice of the epoch's order, in order
        read.append(got)
    read = np.concatenate(read)
    assert len(np.unique(read)) == len(read)  # no token twice in an epoch
    assert set(stream[world_size * share :].tolist()).isdisjoint(read.tolist())  # the tail, not read
    assert total - world_size * share < world_size * quantum


def test_too_many_ranks_for_the_data_is_an_error_at_construction(three_groups):
    out, _ = three_groups
    total = len(epoch_stream(out, 0))
    with pytest.raises(ValueError, match=f"{total} tokens cannot give each of 8 readers"):
        SequenceReader(str(out), 7, 8, seq_len=1024)


def test_torch_dataset_gives_every_rank_and_worker_as_many(three_groups, monkeypatch):
    torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install -e '.[torch]'")
    import pipeline.tokens
    from pipeline.tokens import torch_dataset

    out, _ = three_groups
    stream, world, workers = epoch_stream(out, 0), 3, 2
    per_reader = len(stream) // (world * workers * SEQ_LEN)
    seen, counts = [], []
    for rank in range(world):
        monkeypatch.setattr(pipeline.tokens, "_torch_rank_world", lambda _torch, rank=rank: (rank, world))
        dataset = torch_dataset(str(out), seq_len=SEQ_LEN, seed=5)
        # batch_size=None: cu_seqlens differ in length from sequence to sequence, which default_collate cannot stack
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=None, num_workers=workers, multiprocessing_context="fork"
        )
        got = [seq["input_ids"] for seq in loader]  # ends: one epoch by default
        assert all(ids.dtype == torch.int64 and ids.shape == (SEQ_LEN,) for ids in got)
        counts.append(len(got))
        seen += got
        dataset.set_epoch(1)
        later = [seq["input_ids"] for seq in loader]
        assert len(later) == len(got) and not torch.equal(torch.cat(later), torch.cat(got))
    assert counts == [workers * per_reader] * world  # every rank, and each of its workers, as many
    seen = torch.cat(seen)
    assert len(seen.unique()) == len(seen) == world * workers * per_reader * SEQ_LEN
