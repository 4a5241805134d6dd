"""Agglomerative clustering of move units under the wave limit: a second, global view for construction.

Start with every unit alone; repeatedly merge the two clusters with the most dependency weight between them
while the merged cluster still fits one wave (servers and storage) and merging breaks no pairwise rule
(anti-affinity, different pins, different environments when they are kept separate). Heaviest links first,
ties by name: deterministic. The result guides the wave construction (see waves.py); it never overrides a
constraint.
"""

from __future__ import annotations

import heapq

from orchestrator.planner.units import Problem


class _Clusters:
    def __init__(self, problem: Problem) -> None:
        self.p = problem
        units = [u for u in problem.units.values() if not u.shared and not u.oversized]
        self.members: dict[str, list[str]] = {u.name: [u.name] for u in units}
        self.of: dict[str, str] = {u.name: u.name for u in units}
        self.size = {u.name: u.size for u in units}
        self.storage = {u.name: u.storage for u in units}
        self.links: dict[str, dict[str, float]] = {
            u.name: {o: w for o, w in problem.weights.get(u.name, {}).items() if o in self.of} for u in units}

    def compatible(self, a: str, b: str) -> bool:
        rules, units = self.p.rules, self.p.units
        if self.size[a] + self.size[b] > rules.max_wave_servers:
            return False
        limit = rules.max_wave_storage_gb
        if limit is not None and self.storage[a] + self.storage[b] > limit:
            return False
        left, right = [units[n] for n in self.members[a]], [units[n] for n in self.members[b]]
        pins = {u.pin for u in left + right if u.pin is not None}
        if len(pins) > 1 or (rules.separate_environments and len({u.env for u in left + right}) > 1):
            return False
        names = set(self.members[b])
        return not any(u.anti & names for u in left)

    def merge(self, a: str, b: str) -> str:
        keep, gone = (a, b) if (len(self.members[a]), b) >= (len(self.members[b]), a) else (b, a)
        for name in self.members[gone]:
            self.of[name] = keep
        self.members[keep] += self.members.pop(gone)
        self.size[keep] += self.size.pop(gone)
        self.storage[keep] += self.storage.pop(gone)
        for other, w in self.links.pop(gone).items():
            self.links[other].pop(gone, None)
            if other != keep:
                self.links[keep][other] = self.links[keep].get(other, 0.0) + w
                self.links[other][keep] = self.links[keep][other]
        self.links[keep].pop(gone, None)
        return keep

    def run(self) -> dict[str, int]:
        heap = [(-w, a, b) for a, others in self.links.items() for b, w in others.items() if a < b]
        heapq.heapify(heap)
        while heap:
            neg, a, b = heapq.heappop(heap)
            if a not in self.links or b not in self.links[a] or self.links[a][b] != -neg:
                continue  # stale entry
            if not self.compatible(a, b):
                continue
            keep = self.merge(a, b)
            for other, w in self.links[keep].items():
                heapq.heappush(heap, (-w, min(keep, other), max(keep, other)))
        ranked = sorted(self.members, key=lambda c: (-self.size[c], c))
        return {name: index for index, c in enumerate(ranked) for name in self.members[c]}


def clusters(problem: Problem) -> dict[str, int]:
    """Unit -> cluster number (0 = the largest cluster); shared and oversized units are left out."""
    return _Clusters(problem).run()
