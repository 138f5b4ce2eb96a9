"""Stages as a graph (networkx): which stage needs which, what a target needs, cycles.

An edge ``a -> b`` says stage ``b`` needs stage ``a``: ``b`` is built FROM ``a``, copies
``--from=a`` or mounts ``from=a``. BuildKit builds only the stages the target needs
(its ancestors); the classic builder builds every stage up to the target, in order.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

StageGraph = nx.DiGraph
"""Stages as nodes, an edge from each stage to every stage that needs it."""


def stage_graph(count: int, edges: Iterable[tuple[int, int]]) -> nx.DiGraph:
    """A graph of ``count`` stages (nodes 0..count-1) with ``needed -> needing`` edges."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(count))
    graph.add_edges_from(edges)
    return graph


def find_cycle(graph: nx.DiGraph) -> int | None:
    """A stage on a dependency cycle (a stage that needs itself), or None."""
    for node in sorted(graph.nodes):
        if graph.has_edge(node, node):
            return node
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return None
    return min(edge[0] for edge in cycle)


def needed_by(graph: nx.DiGraph, target: int) -> set[int]:
    """The target stage and every stage it needs, directly or not (BuildKit's rule)."""
    return {target} | nx.ancestors(graph, target)


def build_order(graph: nx.DiGraph, stages: Iterable[int]) -> list[int]:
    """Stages in an order where each comes after what it needs, ties in Dockerfile order."""
    sub = graph.subgraph(stages)
    return list(nx.lexicographical_topological_sort(sub))
