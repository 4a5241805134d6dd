"""The application-level dependency graph of a plan, laid out in wave columns. Pure.

A 2,700-server estate has about a thousand applications and twenty thousand server dependencies: drawn
server by server it is a hairball that freezes a browser. The page draws applications (and shared services,
each its own node) with the dependencies folded between them, and expands one application into its servers on
demand from ``Graph.links``. The layout is computed here, deterministically: one column block per wave (waves
left to right, shared services in their own last waves), nodes in a block sorted by site then name.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping

from orchestrator.plan import Plan
from orchestrator.reporting.model import AppEdge, AppNode, Graph

DX = 90.0  # distance between node columns
DY = 60.0  # between rows
WAVE_GAP = 70.0  # extra space between two waves' blocks
MIN_ROWS = 6
ASPECT = 1.8  # width / height the layout aims for (the page's canvas is about this shape)


def _site_of(members: list[int], sites: list[str | None]) -> str | None:
    counts = Counter(sites[i] for i in members if sites[i])
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0] if counts else None


def _rows(blocks: list[int]) -> int:
    """Rows per column (the same for every wave) giving the layout the aspect closest to ``ASPECT``."""
    def badness(rows: int) -> float:
        width = sum(math.ceil(n / rows) * DX + WAVE_GAP for n in blocks)
        return abs(math.log(width / (rows * DY) / ASPECT))

    return min(range(MIN_ROWS, max(MIN_ROWS, max(blocks, default=0)) + 1), key=badness)


def _nodes(plan: Plan, index: Mapping[str, int], sites: list[str | None]) -> list[AppNode]:
    """Nodes with their wave-column layout."""
    by_wave: dict[int, list[tuple[str, str, bool, tuple[int, ...]]]] = {}
    for app in plan.applications:
        members = tuple(index[s] for s in app.servers if s in index)
        site = _site_of(list(members), sites) or ""
        by_wave.setdefault(app.wave, []).append((site, app.name, app.source == "shared", members))
    rows = _rows([len(b) for b in by_wave.values()])
    nodes: list[AppNode] = []
    x0 = 0.0
    for wave in sorted(by_wave):
        block = sorted(by_wave[wave])
        for i, (site, name, shared, members) in enumerate(block):
            column, row = divmod(i, rows)
            nodes.append(AppNode(name=name, wave=wave, site=site or None, shared=shared, servers=members,
                                 x=round(x0 + column * DX, 1), y=round(row * DY, 1)))
        x0 += math.ceil(len(block) / rows) * DX + WAVE_GAP
    return nodes


def build_graph(plan: Plan | None, index: Mapping[str, int], sites: list[str | None]) -> Graph:
    """``index``: server name -> position in the report's server list; ``sites``: each server's site."""
    if plan is None:
        return Graph(nodes=(), edges=(), links=())
    nodes = _nodes(plan, index, sites)
    node_of: dict[int, int] = {}
    for n, node in enumerate(nodes):
        for server in node.servers:
            node_of[server] = n
    folded: dict[tuple[int, int], tuple[float, int]] = {}
    links: list[tuple[int, int, int, float]] = []
    for dep in plan.dependencies:
        s, t = index.get(dep.source), index.get(dep.target)
        if s is None or t is None:
            continue
        links.append((s, t, dep.port, dep.weight))
        a, b = node_of.get(s), node_of.get(t)
        if a is None or b is None or a == b:
            continue
        weight, count = folded.get((a, b), (0.0, 0))
        folded[(a, b)] = (weight + dep.weight, count + 1)
    edges = [AppEdge(source=a, target=b, weight=round(w, 3), links=c, cross_wave=nodes[a].wave != nodes[b].wave)
             for (a, b), (w, c) in sorted(folded.items())]
    return Graph(nodes=tuple(nodes), edges=tuple(edges), links=tuple(links))
