"""exact_dedup: one document kept per identical (normalized) text, the smallest doc_id; in = kept + removed
per part; the same kept set whatever the number of partitions."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import corpus, storage
from dedup.exact import ExactDedup, ExactDedupConfig


def sequential_map(fn, args_list):
    return [fn(*args) for args in args_list]


def _write_parts(folder, texts_per_part: list[list[str]]) -> list[tuple[int, str]]:
    parts = []
    for index, texts in enumerate(texts_per_part):
        ids = [(index << 32) + row for row in range(len(texts))]
        path = str(folder / f"part-{index:06d}.parquet")
        pq.write_table(pa.table({"doc_id": pa.array(ids, pa.int64()), "text": texts}), path)
        parts.append((index, path))
    return parts


def run_stage(tmp_path, stage, parts, name="exact_dedup", task_bytes=None):
    out = str(tmp_path / "out")
    dirs = corpus.StageDirs(name, out, storage.join(out, "work", name), storage.join(out, "docs"))
    ctx = corpus.CorpusContext(dirs, parts, sequential_map)
    if task_bytes:
        ctx.task_bytes = task_bytes
    results = stage.run(ctx)
    kept = pq.read_table(storage.join(out, "docs")).column("doc_id").to_pylist()
    return sorted(kept), results


TEXTS = [
    ["The same page.", "A unique page about bread.", "the  SAME page!"],
    ["Another unique page.", "The same page.", "A unique page about bread."],
]


@pytest.mark.parametrize("partitions, task_bytes", [(0, None), (1, None), (3, None), (16, None), (0, 1), (100, 1)])
def test_keeps_the_smallest_id_of_each_text(tmp_path, partitions, task_bytes):
    """Any explicit bucket count, or counts from the data (1 byte a task: a bucket per row, two passes)."""
    parts = _write_parts(tmp_path, TEXTS)
    stage = ExactDedup(ExactDedupConfig(partitions=partitions))
    kept, results = run_stage(tmp_path, stage, parts, task_bytes=task_bytes)
    # normalized, "The same page." == "the  SAME page!": one copy survives, at doc 0 of part 0
    assert kept == [0, 1, 1 << 32]
    for stats in results:
        assert stats["docs_in"] == stats["docs_out"] + sum(stats["dropped"].values())
    assert [r["dropped"] for r in results] == [{"exact_dedup.duplicate": 1}, {"exact_dedup.duplicate": 2}]


def test_raw_text_mode_keeps_case_variants(tmp_path):
    parts = _write_parts(tmp_path, TEXTS)
    kept, _ = run_stage(tmp_path, ExactDedup(ExactDedupConfig(normalize_text=False)), parts)
    assert kept == [0, 1, 2, 1 << 32]


def test_rerun_skips_committed_steps(tmp_path):
    parts = _write_parts(tmp_path, TEXTS)
    stage = ExactDedup(ExactDedupConfig(partitions=2))
    run_stage(tmp_path, stage, parts)
    stats = tmp_path / "out" / "work" / "exact_dedup" / "stats" / "part-000000.json"
    mtime = stats.stat().st_mtime_ns
    kept, _ = run_stage(tmp_path, stage, parts)
    assert stats.stat().st_mtime_ns == mtime
    assert kept == [0, 1, 1 << 32]
