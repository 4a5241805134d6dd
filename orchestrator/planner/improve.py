"""Local search after construction: move or swap units between waves while it lowers the dependency weight
between waves, never breaking a constraint. Deterministic: units in name order, best move first, ties by
wave index; stops when a full pass finds nothing or after MAX_PASSES.
"""

from __future__ import annotations

from collections import defaultdict

from orchestrator.planner.units import Problem, Unit
from orchestrator.planner.waves import Assignment, WaveBox

MAX_PASSES = 30
EPS = 1e-9


class _Search:
    def __init__(self, problem: Problem, assignment: Assignment) -> None:
        self.p = problem
        self.a = assignment
        self.box = {w.index: w for w in assignment.waves}
        self.moves: dict[str, list[str]] = defaultdict(list)

    def links(self, name: str) -> dict[int, float]:
        """Dependency weight from ``name`` to each wave."""
        out: dict[int, float] = defaultdict(float)
        for other, w in self.p.weights.get(name, {}).items():
            out[self.a.wave_of[other]] += w
        return out

    def allowed(self, unit: Unit, target: WaveBox, *, leaving: Unit | None = None) -> bool:
        """``unit`` may sit in ``target`` (with ``leaving`` taken out of it), ignoring where it is now."""
        p, wave_of, t = self.p, self.a.wave_of, target.index
        if unit.pin is not None or unit.oversized or target.shared != unit.shared:
            return False
        if any(p.units[m].oversized for m in target.members) or (target.pilot and not unit.pilot_ok):
            return False
        if not unit.release <= t <= (unit.deadline or t):
            return False
        if any(wave_of[x] > t for x in unit.providers) or any(wave_of[x] < t for x in unit.consumers):
            return False
        gone = leaving.name if leaving else None
        if any(wave_of[x] == t and x != gone for x in unit.anti):
            return False
        size = target.size + unit.size - (leaving.size if leaving else 0)
        storage = target.storage + unit.storage - (leaving.storage if leaving else 0.0)
        limit = p.rules.max_wave_storage_gb
        if size > target.cap or (limit is not None and storage > limit + EPS):
            return False
        if p.rules.separate_environments:
            envs = dict(target.envs)
            if leaving:
                envs[leaving.env] -= 1
            return all(n <= 0 for e, n in envs.items() if e != unit.env)
        return True

    def shift(self, unit: Unit, target: WaveBox, why: str) -> None:
        source = self.box[self.a.wave_of[unit.name]]
        source.members.remove(unit.name)
        source.size -= unit.size
        source.storage -= unit.storage
        source.envs[unit.env] -= 1
        target.members.append(unit.name)
        target.size += unit.size
        target.storage += unit.storage
        target.envs[unit.env] += 1
        self.a.wave_of[unit.name] = target.index
        self.moves[unit.name].append(why)

    def try_move(self, unit: Unit) -> bool:
        here = self.a.wave_of[unit.name]
        if len(self.box[here].members) < 2:
            return False
        links = self.links(unit.name)
        for gain, t in sorted(((w - links.get(here, 0.0), t) for t, w in links.items() if t != here),
                              key=lambda g: (-g[0], g[1])):
            if gain <= EPS:
                return False
            if self.allowed(unit, self.box[t]):
                self.shift(unit, self.box[t], f"moved from wave {here} to wave {t} by the improvement pass: "
                                              f"{gain:g} less dependency weight between waves")
                return True
            if self.try_swap(unit, self.box[t], gain):
                return True
        return False

    def try_swap(self, unit: Unit, target: WaveBox, gain: float) -> bool:
        here = self.box[self.a.wave_of[unit.name]]
        best: tuple[float, str] | None = None
        tied = set(unit.providers) | set(unit.consumers) | unit.anti
        for name in sorted(target.members):
            other = self.p.units[name]
            if name in tied:
                continue
            links = self.links(name)
            total = gain + links.get(here.index, 0.0) - links.get(target.index, 0.0) - 2 * self.p.weight(
                unit.name, name)
            if total > EPS and (best is None or total > best[0] + EPS) and self.allowed(
                    unit, target, leaving=other) and self.allowed(other, here, leaving=unit):
                best = (total, name)
        if best is None:
            return False
        other = self.p.units[best[1]]
        why = f"swapped with {other.name} by the improvement pass: {best[0]:g} less dependency weight between waves"
        self.shift(unit, target, f"{why} (wave {here.index} -> {target.index})")
        self.shift(other, here, f"{why.replace(other.name, unit.name)} (wave {target.index} -> {here.index})")
        return True


def improve(problem: Problem, assignment: Assignment) -> dict[str, list[str]]:
    """Improve ``assignment`` in place; returns, per unit, the moves it made (for its reasons)."""
    search = _Search(problem, assignment)
    names = sorted(problem.units)
    for _ in range(MAX_PASSES):
        changed = False
        for name in names:
            changed = search.try_move(problem.units[name]) or changed
        if not changed:
            break
    return dict(search.moves)
