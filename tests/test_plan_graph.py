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


def test_plan_with_a_copy_from_a_later_stage_builds_that_stage_first():
    """A backward edge takes the graph path: the stage copied from must come first, and
    the target needs it (what a stage copies from is built before it, whatever its line)."""
    from cachesim.planning.plan import plan

    p = plan(
        "FROM a AS x\nCOPY --from=y /f /f\nFROM b AS y\nRUN true\nFROM c\nCOPY --from=x /f /f\n"
    )
    assert p.order.index(1) < p.order.index(0) < p.order.index(2)
    assert p.needed == {0, 1, 2}
    assert plan("FROM a AS x\nRUN true\nFROM b\nCOPY --from=x /f /f\n").order == (0, 1)
