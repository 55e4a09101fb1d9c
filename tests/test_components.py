"""Distributed connected components (large-star / small-star) equal a plain union-find on paths, stars,
cliques and random graphs, for any partition count and any edge order."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.components import components_in_memory, union_find_reference


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
