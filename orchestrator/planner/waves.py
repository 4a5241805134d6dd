"""Assign applications to waves: first-fit decreasing with dependency affinity, deterministic.

Hard rules: every application in exactly one wave; a wave holds at most ``max_wave`` servers, except
an application that alone exceeds it, which gets a wave of its own (and is reported as oversized).
Shared services are packed into the last wave(s), after every application that consumes them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx

from orchestrator.planner.grouping import Group

SHARED_POLICY = ("shared services move in the last wave(s): every consumer moves first and keeps reaching "
                 "them on-premises, so no shared service is cut over while an unmoved consumer still needs "
                 "it in its old place, and name resolution/monitoring change only once")


@dataclass
class _Bin:
    index: int
    apps: list[str] = field(default_factory=list)
    size: int = 0
    oversized: bool = False
    shared: bool = False


@dataclass(frozen=True)
class Placement:
    app: str
    wave: int
    why: str


@dataclass(frozen=True)
class Schedule:
    waves: tuple[tuple[str, ...], ...]  # application names per wave, wave 1 first
    placements: dict[str, Placement]
    oversized: tuple[str, ...]


def app_weights(groups: list[Group], graph: nx.DiGraph[str]) -> dict[str, dict[str, float]]:
    """Undirected dependency weight between applications (edges inside an application are left out)."""
    owner = {server: g.name for g in groups for server in g.servers}
    weights: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for source, target, data in graph.edges(data=True):
        a, b = owner[source], owner[target]
        if a != b:
            weights[a][b] += data["weight"]
            weights[b][a] += data["weight"]
    return weights


def _affinity(app: str, weights: dict[str, dict[str, float]], where: dict[str, int]) -> dict[int, float]:
    per_wave: dict[int, float] = defaultdict(float)
    for other, weight in weights.get(app, {}).items():
        if other in where:
            per_wave[where[other]] += weight
    return per_wave


def _partners(app: str, wave: _Bin, weights: dict[str, dict[str, float]]) -> str:
    ranked = sorted(((weights.get(app, {}).get(o, 0.0), o) for o in wave.apps), key=lambda t: (-t[0], t[1]))
    return ", ".join(f"{o} ({w:g})" for w, o in ranked[:3] if w > 0)


def _place(group: Group, bins: list[_Bin], weights: dict[str, dict[str, float]], where: dict[str, int],
           max_wave: int, *, shared: bool) -> Placement:
    size = len(group.servers)
    if size > max_wave:
        target = _Bin(len(bins) + 1, oversized=True, shared=shared)
        bins.append(target)
        why = f"it alone has {size} servers, more than the wave limit {max_wave}, so it gets a wave of its own"
    else:
        affinity = _affinity(group.name, weights, where)
        fits = [b for b in bins if b.shared == shared and not b.oversized and b.size + size <= max_wave]
        best = max(fits, key=lambda b: (affinity.get(b.index, 0.0), -b.index), default=None)
        if best is None:
            target = _Bin(len(bins) + 1, shared=shared)
            bins.append(target)
            why = "no earlier wave had room for it, so it opens a new wave"
        elif affinity.get(best.index, 0.0) > 0:
            target = best
            why = (f"it has the most dependency weight ({affinity[best.index]:g}) to applications already "
                   f"there: {_partners(group.name, best, weights)}")
        else:
            target = best
            why = "it has no dependency weight to applications placed before it; first wave with room"
    target.apps.append(group.name)
    target.size += size
    where[group.name] = target.index
    return Placement(group.name, target.index, f"placed in wave {target.index} because {why}")


def _order(groups: list[Group], weights: dict[str, dict[str, float]]) -> list[Group]:
    """Largest first, then the most connected, then by name."""
    return sorted(groups, key=lambda g: (-len(g.servers), -sum(weights.get(g.name, {}).values()), g.name))


def schedule(groups: list[Group], weights: dict[str, dict[str, float]], max_wave: int) -> Schedule:
    bins: list[_Bin] = []
    where: dict[str, int] = {}
    placements: dict[str, Placement] = {}
    regular = [g for g in groups if g.source != "shared"]
    shared = [g for g in groups if g.source == "shared"]
    for group in _order(regular, weights):
        placements[group.name] = _place(group, bins, weights, where, max_wave, shared=False)
    for group in _order(shared, weights):
        placement = _place(group, bins, weights, where, max_wave, shared=True)
        placements[group.name] = Placement(group.name, placement.wave,
                                           f"{placement.why}; shared services go last")
    oversized = tuple(sorted(app for b in bins if b.oversized for app in b.apps))
    return Schedule(tuple(tuple(sorted(b.apps)) for b in bins), placements, oversized)
