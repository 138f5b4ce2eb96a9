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


def forward_only(edges: Iterable[tuple[int, int]]) -> bool:
    """Every edge goes from an earlier stage to a later one, as in almost every Dockerfile
    (a FROM can only name an earlier stage). Then there is no cycle and Dockerfile order is
    a build order (``build_order`` would give the same), so ``plan`` needs no graph."""
    return all(a < b for a, b in edges)


def needed_by_forward(edges: Iterable[tuple[int, int]], target: int) -> set[int]:
    """``needed_by`` for ``forward_only`` edges, without building a graph: a replay plans
    one Dockerfile version after another, and networkx cost more than the rest of a plan."""
    needs: dict[int, list[int]] = {}
    for a, b in edges:
        needs.setdefault(b, []).append(a)
    found, todo = {target}, [target]
    while todo:
        for dep in needs.get(todo.pop(), ()):
            if dep not in found:
                found.add(dep)
                todo.append(dep)
    return found


def build_order(graph: nx.DiGraph, stages: Iterable[int]) -> list[int]:
    """Stages in an order where each comes after what it needs, ties in Dockerfile order."""
    sub = graph.subgraph(stages)
    return list(nx.lexicographical_topological_sort(sub))
