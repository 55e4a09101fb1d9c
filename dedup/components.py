"""Connected components of the duplicate graph, by alternating large-star and small-star rounds
(Kiveris et al., "Connected Components in MapReduce and Beyond", SoCC 2014), vectorized with numpy.

Edges live in P partitions keyed by their first node: an undirected edge {u, v} is stored as u->v in
partition(u) and v->u in partition(v), so each round is a per-partition function followed by a shuffle.
The engine runs one Ray task per partition per round over Parquet files; `components_in_memory` runs the
very same functions in one process, for tests and small inputs. No step sees all edges at once.

Stop test (exact): a (large-star, small-star) pair that leaves every partition's sorted edge set equal to
what it was before the pair. The fixed point is a star per component centred on its smallest node, so
each node's root is the smallest id of its component: the document kept, whatever the partition count or
edge order.
"""

from __future__ import annotations

import numpy as np

EMPTY = np.empty(0, dtype=np.int64)


def partition_of(nodes: np.ndarray, partitions: int) -> np.ndarray:
    """Partition of each node id: a 64-bit mix, so consecutive ids (one input file) spread out."""
    x = nodes.astype(np.uint64)
    x = (x ^ (x >> np.uint64(33))) * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    return (x % np.uint64(partitions)).astype(np.int64)


def symmetric(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both directions of each undirected edge, self-loops removed, sorted and unique."""
    keep = u != v
    src = np.concatenate((u[keep], v[keep]))
    dst = np.concatenate((v[keep], u[keep]))
    return unique_edges(src, dst)


def unique_edges(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if src.size == 0:
        return EMPTY, EMPTY
    pairs = np.unique(np.stack((src, dst), axis=1), axis=0)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def split(src: np.ndarray, dst: np.ndarray, partitions: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffle: directed edges to the partition of their source node."""
    part = partition_of(src, partitions)
    return [(src[part == p], dst[part == p]) for p in range(partitions)]


def _group_min(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each distinct source u (sorted): min(u, min of its neighbours in dst)."""
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    nodes, starts = np.unique(src, return_index=True)
    return nodes, np.minimum(nodes, np.minimum.reduceat(dst, starts))


def large_star(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each u: connect every strictly larger neighbour v to m(u) = min of u's closed neighbourhood.
    Returns undirected edges as (a, b) arrays (not yet symmetric)."""
    if src.size == 0:
        return EMPTY, EMPTY
    nodes, minimum = _group_min(src, dst)
    larger = dst > src
    m = minimum[np.searchsorted(nodes, src[larger])]
    return dst[larger], m


def small_star(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each u: connect u and every smaller neighbour to m(u) = min of u and its smaller neighbours."""
    smaller = dst < src
    if not smaller.any():
        return EMPTY, EMPTY
    s, d = src[smaller], dst[smaller]
    nodes, minimum = _group_min(s, d)
    m_of_edge = minimum[np.searchsorted(nodes, s)]
    return np.concatenate((d, nodes)), np.concatenate((m_of_edge, minimum))


def components_in_memory(u: np.ndarray, v: np.ndarray, partitions: int = 4) -> dict[int, int]:
    """node -> root (the smallest node of its component) for every node that has an edge."""
    parts = split(*symmetric(u, v), partitions)
    while True:
        before = parts
        parts = _round(parts, large_star, partitions)
        parts = _round(parts, small_star, partitions)
        if all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(before, parts)):
            break
    return roots_from_stars(parts)


def _round(parts, star, partitions: int):
    emitted = [star(src, dst) for src, dst in parts]
    a = np.concatenate([e[0] for e in emitted]) if emitted else EMPTY
    b = np.concatenate([e[1] for e in emitted]) if emitted else EMPTY
    return split(*symmetric(a, b), partitions)


def star_roots(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At the fixed point: every node of these edges (sorted) and its root, the smallest of its star."""
    if src.size == 0:
        return EMPTY, EMPTY
    return _group_min(src, dst)


def roots_from_stars(parts) -> dict[int, int]:
    roots: dict[int, int] = {}
    for src, dst in parts:
        if src.size:
            nodes, minimum = _group_min(src, dst)
            roots.update(zip(nodes.tolist(), minimum.tolist()))
    return roots
