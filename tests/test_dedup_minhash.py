"""minhash_dedup: signatures deterministic, near-duplicates found, one document kept per cluster (the
smallest doc_id), same kept set whatever the partition counts; in = kept + removed per part."""

from __future__ import annotations

import random

import numpy as np
import pytest

from dedup.key_groups import group_min_pairs
from dedup.minhash import MinHashParams, band_keys, permutations, shingle_hashes, signature
from dedup.minhash_dedup import MinHashDedup, MinHashDedupConfig
from tests.conftest import shared_data
from tests.test_dedup_exact import _write_parts, run_stage

WORDS = (
    "river bread yeast garden rail engine star orbit wheel chain valley forest stone copper lantern harbor "
    "meadow thunder violet marble canyon glacier summit cedar falcon willow ember quartz tundra lagoon"
).split()


def _doc(seed: int, n: int = 300) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _edit(text: str, fraction: float, seed: int) -> str:
    """Replace a fraction of the words: 5-gram Jaccard falls roughly like (1 - fraction)^5 / (1 + ...)."""
    rng = random.Random(seed)
    words = text.split()
    for i in rng.sample(range(len(words)), int(len(words) * fraction)):
        words[i] = "zz" + str(rng.randint(0, 10**6))
    return " ".join(words)


def test_signatures_are_deterministic_and_estimate_jaccard():
    params = MinHashParams()
    a, b = _doc(1), _edit(_doc(1), 0.02, 5)
    sig_a1 = signature(a, params, permutations(params))
    sig_a2 = signature(a, MinHashParams(), permutations(MinHashParams()))
    assert sig_a1.dtype == np.uint32 and sig_a1.shape == (112,)
    assert sig_a1.tobytes() == sig_a2.tobytes()
    sa, sb = set(shingle_hashes(a, 5).tolist()), set(shingle_hashes(b, 5).tolist())
    true_j = len(sa & sb) / len(sa | sb)
    estimate = float(np.mean(sig_a1 == signature(b, params, permutations(params))))
    assert abs(estimate - true_j) < 0.15
    assert signature("too short", params, permutations(params)) is None


def test_band_keys_equal_for_equal_bands_only():
    params = MinHashParams()
    sigs = np.stack([signature(_doc(s), params, permutations(params)) for s in (1, 1, 2)])
    keys = band_keys(sigs, params)
    assert keys.shape == (3, 14)
    assert (keys[0] == keys[1]).all() and not (keys[0] == keys[2]).any()


def test_star_edges_connect_each_key_group_to_its_smallest_id():
    key = np.array([7, 7, 7, 8, 9, 8], np.uint64)
    ids = np.array([30, 10, 20, 30, 10, 40], np.int64)
    u, v = group_min_pairs(key, ids)
    assert sorted(zip(u.tolist(), v.tolist())) == [(10, 20), (10, 30), (30, 40)]


CORPUS = [
    [_doc(1), _doc(2), _edit(_doc(3), 0.01, 1), _doc(4)],
    [_edit(_doc(1), 0.01, 2), _doc(5), _doc(3), _edit(_doc(2), 0.5, 3)],
    [_edit(_doc(1), 0.02, 4), _doc(6)],
]
# clusters: {doc1 (0,0), (1,0), (2,0)}, {doc3 (0,2), (1,2)}; doc2 and its 50%-edited copy are not near-dups
EXPECTED_KEPT = sorted([0, 1, 2, 3, (1 << 32) + 1, (1 << 32) + 3, (2 << 32) + 1])


@pytest.mark.parametrize(
    "partitions, cc_partitions, task_bytes",
    [(0, 0, None), (1, 1, None), (3, 2, None), (16, 16, None), (0, 0, 64), (200, 5, 64)],
)
def test_one_document_kept_per_cluster_whatever_the_partitions(tmp_path, partitions, cc_partitions, task_bytes):
    """Explicit counts, or counts from the data: the default budget (one bucket here), or 64 bytes a task
    (one bucket per few keys, several shuffle passes, one task per file)."""
    parts = _write_parts(tmp_path, CORPUS)
    stage = MinHashDedup(MinHashDedupConfig(partitions=partitions, cc_partitions=cc_partitions))
    kept, results = run_stage(tmp_path, stage, parts, name="minhash_dedup", task_bytes=task_bytes)
    assert kept == EXPECTED_KEPT
    for stats in results:
        assert stats["docs_in"] == stats["docs_out"] + sum(stats["dropped"].values())


def test_verification_removes_nothing_that_is_really_similar(tmp_path):
    parts = _write_parts(tmp_path, CORPUS)
    kept, _ = run_stage(tmp_path, MinHashDedup(MinHashDedupConfig(verify_min_jaccard=0.7)), parts, "minhash_dedup")
    assert kept == EXPECTED_KEPT


EDGE_CASES = [
    "",
    "   ",
    "ASCII only, with punctuation... and 3.14 numbers!",
    "Café naïve résumé — “quotes” and ‘single’",
    "Ελληνικά κείμενα με τόνους",
    "中文文本，没有空格。",
    "e\u0301 combining marks a\u0308",
    "control\x1cseparators\x1dhere\x1eand\x1fthere",
    "İstanbul ǅ ß ﬁ",
    "١٢٣ Arabic-Indic digits ٤٫٥",
    "tabs\tand\nnew\r\nlines  ",
]


@pytest.mark.parametrize("text", EDGE_CASES + [_doc(7), _edit(_doc(7), 0.1, 1)])
def test_fast_path_is_identical_to_the_reference(text):
    from dedup.minhash import normalize
    from dedup.minhasher import MinHasher, fast_normalize, fast_shingle_hashes

    params = MinHashParams()
    assert fast_normalize(text) == normalize(text)
    assert np.array_equal(fast_shingle_hashes(text, 5), shingle_hashes(text, 5))
    reference = signature(text, params, permutations(params))
    fast = MinHasher(params).signature(text)
    assert (reference is None and fast is None) or reference.tobytes() == fast.tobytes()


def test_fast_path_is_identical_on_real_pages():
    import gzip
    import json

    from dedup.minhasher import MinHasher

    path = shared_data("quality") / "cc_text_dolma_CC-MAIN-2019-30_697docs.jsonl.gz"
    with gzip.open(path, "rt") as f:
        fixtures = [json.loads(line)["text"] for line in f][:300]

    params = MinHashParams()
    rows, matrix = MinHasher(params).signatures(fixtures)
    expected = [signature(t, params, permutations(params)) for t in fixtures]
    assert [i for i, e in enumerate(expected) if e is not None] == rows.tolist()
    assert all(matrix[k].tobytes() == expected[i].tobytes() for k, i in enumerate(rows.tolist()))
