"""The stage graph's short cut for forward-only edges (``planning.graph.forward_only``) gives
what networkx gives: the same build order and the same stages a target needs."""

import random

from cachesim.planning.graph import (
    build_order,
    find_cycle,
    forward_only,
    needed_by,
    needed_by_forward,
    stage_graph,
)


def test_forward_edges_short_cut_agrees_with_networkx():
    rng = random.Random(9)
    for _ in range(300):
        count = rng.randint(1, 8)
        edges = [(a, b) for b in range(count) for a in range(b) if rng.random() < 0.3]
        assert forward_only(edges)
        graph = stage_graph(count, edges)
        assert find_cycle(graph) is None
        assert build_order(graph, range(count)) == list(range(count))
        for target in range(count):
            assert needed_by_forward(edges, target) == needed_by(graph, target)


def test_a_backward_or_self_edge_is_not_forward():
    assert not forward_only([(0, 1), (2, 1)])
    assert not forward_only([(1, 1)])
    assert forward_only([])
