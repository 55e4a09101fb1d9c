"""core.shuffle: bucket counts and passes come from the data; a multi-pass shuffle puts every row in the
bucket a one-pass shuffle would; no task reads more than its budget; removals reach only their own part."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import corpus, shuffle, storage
from tests.test_dedup_exact import sequential_map


def test_plan_sizes_buckets_from_the_data():
    assert shuffle.make_plan(10, budget=100).fan_outs == (1,)
    assert shuffle.make_plan(1000, budget=100).fan_outs == (10,)
    assert shuffle.make_plan(1000, budget=100, buckets=3).fan_outs == (3,)  # an explicit count wins
    assert shuffle.make_plan(10, budget=100, min_buckets=5).fan_outs == (5,)
    big = shuffle.make_plan(2 << 40, budget=512 << 20)  # 2 TB of tokens, 512 MB tasks: 4,096 buckets
    assert big.fan_outs == (64, 64) and big.buckets == 4096
    for total in (65, 4097, 10**6, 262_145):
        plan = shuffle.make_plan(total, budget=1)
        assert plan.buckets >= total and max(plan.fan_outs) <= shuffle.MAX_FAN_OUT
        assert math.prod(plan.fan_outs) == plan.buckets


def test_groups_respect_the_budget_and_the_file_cap():
    files = [(f"f{i}", 30) for i in range(10)]
    assert [len(g) for g in shuffle.groups(files, budget=100)] == [3, 3, 3, 1]
    assert [len(g) for g in shuffle.groups([("big", 500), ("small", 1)], budget=100)] == [1, 1]
    many = [(f"f{i}", 0) for i in range(2500)]
    assert [len(g) for g in shuffle.groups(many, budget=100)] == [1000, 1000, 500]


def test_part_ranges_cover_every_part_once():
    by = shuffle.BucketBy(parts=103)
    for buckets in (1, 7, 64, 103, 500):
        covered = [i for b in range(buckets) for i in by.parts_of_bucket(b, buckets)]
        assert covered == list(range(103))
        table = pa.table({"doc_id": pa.array([i << 32 for i in range(103)], pa.int64())})
        final = by.final_buckets(table, buckets)
        assert all(i in by.parts_of_bucket(int(b), buckets) for i, b in enumerate(final))


class RecordingMap:
    """Runs tasks in this process and records the bytes each split task was given to read."""

    def __init__(self):
        self.reads: list[int] = []

    def __call__(self, fn, args_list):
        if fn is shuffle.split_files:
            for args in args_list:
                self.reads.append(sum(pq.read_metadata(f).num_rows * 16 for f in args[3]))
        return [fn(*args) for args in args_list]


def _inputs(tmp_path, n_files=12, rows=20, seed=0):
    rng = np.random.default_rng(seed)
    inputs = []
    for i in range(n_files):
        keys = rng.integers(0, 2**64, rows, dtype=np.uint64)
        table = pa.table({"key": keys, "doc_id": pa.array((i << 32) + np.arange(rows), pa.int64())})
        path = str(tmp_path / f"in-{i}.parquet")
        inputs.append([path, shuffle.write_parquet(storage.filesystem(path)[0], path, table)])
    return inputs


def _bucket_rows(files) -> list[set[int]]:
    return [
        set(pa.concat_tables([pq.read_table(f) for f, _ in fs]).column("doc_id").to_pylist()) if fs else set()
        for fs in files
    ]


@pytest.mark.parametrize("task_bytes", [8_000, 400, 40])
def test_every_row_lands_in_its_key_range_bucket_in_one_pass_or_several(tmp_path, task_bytes):
    inputs = _inputs(tmp_path)
    out = str(tmp_path / "out")
    dirs = corpus.StageDirs("s", out, storage.join(out, "work", "s"), out)
    recording = RecordingMap()
    ctx = corpus.CorpusContext(dirs, [], recording, task_bytes)
    plan, files = shuffle.shuffle(ctx, "shuffle", inputs, shuffle.BucketBy("key"))
    total = sum(n for _, n in inputs)
    assert plan.buckets >= total / task_bytes
    assert (len(plan.fan_outs) > 1) == (task_bytes == 40)  # 96 buckets: more than one task writes
    largest_input = max(n for _, n in inputs)
    assert max(recording.reads) <= max(task_bytes, largest_input)  # a task reads one file, or up to its budget
    everything = pa.concat_tables([pq.read_table(p) for p, _ in inputs])
    expected = shuffle.BucketBy("key").final_buckets(everything, plan.buckets)
    doc_ids = everything.column("doc_id").to_numpy()
    assert _bucket_rows(files) == [set(doc_ids[expected == b].tolist()) for b in range(plan.buckets)]
    # a second run finds the step committed and reads one marker
    again = corpus.CorpusContext(dirs, [], lambda fn, args: pytest.fail("re-ran a committed shuffle"), task_bytes)
    assert shuffle.shuffle(again, "shuffle", inputs, shuffle.BucketBy("key"))[1] == files


def test_removals_reach_only_their_own_part(tmp_path):
    out = str(tmp_path / "out")
    parts = [(i, f"unused-{i}") for i in range(30)]
    dirs = corpus.StageDirs("s", out, storage.join(out, "work", "s"), out)
    ctx = corpus.CorpusContext(dirs, parts, sequential_map, task_bytes=64)
    fs, _ = storage.filesystem(out)
    removed = [(i << 32) + r for i in range(0, 30, 3) for r in (5, 1)]
    path = storage.join(out, "removed.parquet")
    storage.makedirs(fs, out)
    inputs = [[path, shuffle.write_parquet(fs, path, pa.table({"doc_id": pa.array(removed, pa.int64())}))]]
    by_part = corpus.removals_by_part(ctx, inputs)
    assert sorted(by_part) == list(range(30))
    for i, file in by_part.items():
        ids = pq.read_table(file).column("doc_id").to_pylist()
        assert ids == ([(i << 32) + 1, (i << 32) + 5] if i % 3 == 0 else [])


def test_a_hot_key_is_reduced_in_two_passes_with_the_same_pairs(tmp_path):
    """A bucket over its budget (one key copied in every file, as a boilerplate page is) gives the same
    (smallest, other) pairs read file by file as read at once."""
    from dedup.key_groups import pairs_in_files

    rng = np.random.default_rng(4)
    fs, _ = storage.filesystem(str(tmp_path))
    files = []
    for i in range(6):
        keys = np.concatenate([np.full(50, 7, np.uint64), rng.integers(0, 40, 30).astype(np.uint64)])
        ids = (i << 32) + rng.permutation(80).astype(np.int64)
        path = str(tmp_path / f"b-{i}.parquet")
        files.append((path, shuffle.write_parquet(fs, path, pa.table({"key": keys, "doc_id": ids}))))

    def pairs(budget):
        return sorted(p for u, v in pairs_in_files(fs, files, budget) for p in zip(u.tolist(), v.tolist()))

    at_once, streamed = pairs(1 << 30), pairs(0)
    assert at_once == streamed and len(at_once) > 300
    assert len(list(pairs_in_files(fs, files, 0))) == len(files)  # one chunk per file
