"""Distributed connected components (large-star / small-star) equal scipy's connected components on paths,
stars, cliques and random graphs, for any partition count and any edge order."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.components import components_in_memory


def union_find_reference(u: np.ndarray, v: np.ndarray) -> dict[int, int]:
    """The reference: scipy's connected components, each node mapped to the smallest id of its component (nodes
    of non-self-loop edges only: a self-loop is no edge, and the distributed version drops them too)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    keep = u != v
    nodes, inverse = np.unique(np.concatenate([u[keep], v[keep]]), return_inverse=True)
    a, b = inverse[: keep.sum()], inverse[keep.sum() :]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    smallest = np.full(labels.max() + 1 if len(labels) else 0, np.iinfo(np.int64).max)
    np.minimum.at(smallest, labels, nodes)
    return dict(zip(nodes.tolist(), smallest[labels].tolist()))


def _path(n):
    nodes = np.arange(n, dtype=np.int64)
    return nodes[:-1], nodes[1:]


def _star(n):
    return np.zeros(n - 1, dtype=np.int64), np.arange(1, n, dtype=np.int64)


def _clique(n):
    u, v = np.triu_indices(n, k=1)
    return u.astype(np.int64), v.astype(np.int64)


def _random(n, m, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, m), rng.integers(0, n, m)


GRAPHS = {
    "path": _path(1000),
    "star": _star(1000),
    "clique": _clique(60),
    "random_sparse": _random(2000, 1500, 1),
    "random_dense": _random(500, 3000, 2),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("partitions", [1, 3, 8])
def test_matches_union_find(name, partitions):
    u, v = GRAPHS[name]
    assert components_in_memory(u, v, partitions) == union_find_reference(u, v)


@pytest.mark.parametrize("seed", [0, 1])
def test_edge_order_and_direction_do_not_matter(seed):
    u, v = GRAPHS["random_sparse"]
    order = np.random.default_rng(seed).permutation(len(u))
    expected = union_find_reference(u, v)
    assert components_in_memory(v[order], u[order], 5) == expected


@pytest.mark.parametrize("name", ["path", "random"])
def test_hundred_thousand_nodes(name):
    u, v = _path(100_000) if name == "path" else _random(100_000, 80_000, 7)
    # shuffled ids, so the path is not already sorted
    perm = np.random.default_rng(3).permutation(100_000)
    u, v = perm[u], perm[v]
    assert components_in_memory(u, v, 16) == union_find_reference(u, v)


def _file_based(tmp_path, u, v, task_bytes, **cfg):
    """The engine's file-based rounds (dedup/cc_steps.py) over one edge file, tasks run in this process."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core import corpus, shuffle, storage
    from dedup import cc_steps
    from dedup.minhash_dedup import MinHashDedupConfig

    out = str(tmp_path / "out")
    dirs = corpus.StageDirs("minhash_dedup", out, storage.join(out, "work", "minhash_dedup"), out)
    ctx = corpus.CorpusContext(dirs, [], lambda fn, args: [fn(*a) for a in args], task_bytes)
    fs, _ = storage.filesystem(out)
    storage.makedirs(fs, out)
    path = storage.join(out, "edges.parquet")
    edges = [[path, shuffle.write_parquet(fs, path, pa.table({"u": u, "v": v}))]]
    removal_files = cc_steps.connected_components(ctx, edges, MinHashDedupConfig(**cfg))
    removed = pa.concat_tables([pq.read_table(f) for f, _ in removal_files])
    return dict(zip(removed.column("doc_id").to_pylist(), removed.column("duplicate_of").to_pylist()))


def test_file_based_rounds_on_a_long_shuffled_path_match_union_find(tmp_path):
    """5,000 nodes in one shuffled chain: many rounds, partitions sized from the edge bytes (a small budget)."""
    u, v = _path(5000)
    perm = np.random.default_rng(11).permutation(5000).astype(np.int64)
    u, v = perm[u], perm[v]
    roots = union_find_reference(u, v)
    removed = _file_based(tmp_path, u, v, task_bytes=20_000)
    assert removed == {node: root for node, root in roots.items() if root != node}
    plan = (tmp_path / "out" / "work" / "minhash_dedup" / "cc" / "plan.json").read_text()
    assert '"partitions": 12' in plan  # 3 x 80 KB of edges / 20 KB a task
    rounds = list((tmp_path / "out" / "work" / "minhash_dedup" / "steps").glob("cc_round_*.json"))
    assert len(rounds) > 6


def test_a_runaway_is_stopped_with_a_clear_error(tmp_path):
    from dedup.cc_steps import ComponentsDidNotConverge

    u, v = _path(2000)
    perm = np.random.default_rng(5).permutation(2000).astype(np.int64)
    with pytest.raises(ComponentsDidNotConverge, match="still changing after 4 rounds.*max_cc_rounds"):
        _file_based(tmp_path, perm[u], perm[v], task_bytes=1 << 20, max_cc_rounds=4)
