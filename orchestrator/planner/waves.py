"""Assign applications to waves: fill one wave at a time, deterministic.

Applications are ranked largest first, then most linked, then by name. A wave opens with the first
unplaced application (the seed); then it takes, while there is room, the unplaced application with the
most dependency weight to what is already in the wave; when no linked one fits, the largest unplaced one
that fits (first-fit decreasing).

Hard rules: every application in exactly one wave; a wave holds at most ``max_wave`` servers, except
an application that alone exceeds it, which gets a wave of its own (and is reported as oversized).
Shared services are packed into the last wave(s), after every application that consumes them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx

from orchestrator.planner.grouping import Group

SHARED_POLICY = ("shared services move in the last wave(s): every consumer moves first and keeps reaching "
                 "them on-premises, so no shared service is cut over while an unmoved consumer still needs "
                 "it in its old place, and name resolution/monitoring change only once")


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


Weights = dict[str, dict[str, float]]


def app_weights(groups: list[Group], graph: nx.DiGraph[str]) -> Weights:
    """Undirected dependency weight between applications (edges inside an application are left out)."""
    owner = {server: g.name for g in groups for server in g.servers}
    weights: Weights = defaultdict(lambda: defaultdict(float))
    for source, target, data in graph.edges(data=True):
        a, b = owner[source], owner[target]
        if a != b:
            weights[a][b] += data["weight"]
            weights[b][a] += data["weight"]
    return weights


def _order(groups: list[Group], weights: Weights) -> list[Group]:
    """Largest first, then the most connected, then by name."""
    return sorted(groups, key=lambda g: (-len(g.servers), -sum(weights.get(g.name, {}).values()), g.name))


@dataclass
class _Filler:
    size: dict[str, int]
    rank: dict[str, int]
    weights: Weights
    max_wave: int

    def best_linked(self, affinity: dict[str, float], unplaced: dict[str, None], room: int) -> str | None:
        fits = [a for a, w in affinity.items() if w > 0 and a in unplaced and self.size[a] <= room]
        return max(fits, key=lambda a: (affinity[a], -self.rank[a]), default=None)

    def largest_fit(self, unplaced: dict[str, None], room: int) -> str | None:
        return next((a for a in unplaced if self.size[a] <= room), None)

    def partners(self, app: str, members: list[str]) -> str:
        ranked = sorted(((self.weights.get(app, {}).get(o, 0.0), o) for o in members), key=lambda t: (-t[0], t[1]))
        return ", ".join(f"{o} ({w:g})" for w, o in ranked[:3] if w > 0)

    def fill(self, seed: str, unplaced: dict[str, None], index: int) -> tuple[list[str], dict[str, str]]:
        """One wave: the seed, then linked applications, then the largest that fit."""
        members, why = [seed], {seed: "it is the largest (then most linked) unplaced application, so it opens "
                                      "the wave"}
        if self.size[seed] > self.max_wave:
            why[seed] = (f"it alone has {self.size[seed]} servers, more than the wave limit {self.max_wave}, "
                         "so it gets a wave of its own")
            return members, why
        used, affinity = self.size[seed], defaultdict(float, self.weights.get(seed, {}))
        while True:
            room = self.max_wave - used
            pick = self.best_linked(affinity, unplaced, room)
            if pick is not None:
                why[pick] = (f"it has the most dependency weight ({affinity[pick]:g}) to applications already "
                             f"in wave {index}: {self.partners(pick, members)}")
            else:
                pick = self.largest_fit(unplaced, room)
                if pick is None:
                    return members, why
                why[pick] = "no unplaced application linked to the wave fits; it is the largest one that fits"
            del unplaced[pick]
            members.append(pick)
            used += self.size[pick]
            for other, weight in self.weights.get(pick, {}).items():
                affinity[other] += weight


def _fill_all(groups: list[Group], weights: Weights, max_wave: int, first_index: int
              ) -> list[tuple[list[str], dict[str, str]]]:
    ordered = _order(groups, weights)
    filler = _Filler({g.name: len(g.servers) for g in ordered}, {g.name: i for i, g in enumerate(ordered)},
                     weights, max_wave)
    unplaced = dict.fromkeys(g.name for g in ordered)
    waves: list[tuple[list[str], dict[str, str]]] = []
    while unplaced:
        seed = next(iter(unplaced))
        del unplaced[seed]
        waves.append(filler.fill(seed, unplaced, first_index + len(waves)))
    return waves


def schedule(groups: list[Group], weights: Weights, max_wave: int) -> Schedule:
    """Regular applications first, then shared services in wave(s) of their own after every other wave."""
    regular = _fill_all([g for g in groups if g.source != "shared"], weights, max_wave, 1)
    shared = _fill_all([g for g in groups if g.source == "shared"], weights, max_wave, len(regular) + 1)
    size = {g.name: len(g.servers) for g in groups}
    placements: dict[str, Placement] = {}
    waves: list[tuple[str, ...]] = []
    oversized: list[str] = []
    for index, (members, why) in enumerate(regular + shared, start=1):
        prefix = "shared services go in wave(s) of their own after every other wave; " if index > len(regular) else ""
        for app in members:
            placements[app] = Placement(app, index, f"placed in wave {index} because {prefix}{why[app]}")
        if sum(size[app] for app in members) > max_wave:
            oversized.append(members[0])
        waves.append(tuple(sorted(members)))
    return Schedule(tuple(waves), placements, tuple(sorted(oversized)))
