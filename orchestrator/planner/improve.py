"""Local search after construction, never breaking a constraint, deterministic.

1. Descent: move or swap single units between waves while that lowers the dependency weight between waves
   (units in name order, best move first, ties by wave index).
2. Pair exchange (Kernighan-Lin): for two linked waves, in order of the weight between them, make the best
   move or swap between them even when it costs, lock what moved, repeat until nothing is allowed, then keep
   the best prefix of that sequence. This escapes the local optima of step 1 when waves are full.
3. One-for-two exchange: for the same pairs of waves, the best improving exchange of one unit for two units
   of the other wave; when waves are full, unit sizes rarely match one for one, and this is the move that
   lets a unit join its partners anyway.
Both repeat until a round finds nothing, within MAX_PASSES rounds and a budget of evaluated exchanges.
"""

from __future__ import annotations

import random
from collections import defaultdict

from orchestrator.planner.units import Problem, Unit
from orchestrator.planner.waves import Assignment, WaveBox, add_load, resource_ok

MAX_PASSES = 30
MAX_KICKS = 300
KICK_WORK = 8000  # kicks * units: 300 kicks up to ~25 units, none from 8,000 units (bounded time)
KICK_SEED = 20260101
EXCHANGE_BUDGET = 3_000_000  # evaluated (unit, unit) swaps over the whole search: bounds the time on big estates
EPS = 1e-9


class _Search:
    def __init__(self, problem: Problem, assignment: Assignment) -> None:
        self.p = problem
        self.a = assignment
        self.box = {w.index: w for w in assignment.waves}
        self.budget = EXCHANGE_BUDGET
        self.exclusive = {w.index for w in assignment.waves if any(problem.units[m].oversized for m in w.members)}
        self.cache: dict[str, dict[int, float]] = {}
        self.resources = bool(any(u.freezes or u.zone_need for u in problem.units.values())
                              or problem.res.calendar.dated)
        self.recount()

    def recount(self) -> None:
        """Recompute every unit's weight to each wave (after a restore)."""
        self.cache = {}
        for name in self.p.units:
            out: dict[int, float] = defaultdict(float)
            for other, w in self.p.weights.get(name, {}).items():
                out[self.a.wave_of[other]] += w
            self.cache[name] = out

    def links(self, name: str) -> dict[int, float]:
        """Dependency weight from ``name`` to each wave (kept up to date by shift)."""
        return self.cache[name]

    def allowed(self, unit: Unit, target: WaveBox, *, leaving: Unit | None = None) -> bool:
        """``unit`` may sit in ``target`` (with ``leaving`` taken out of it), ignoring where it is now."""
        p, wave_of, t = self.p, self.a.wave_of, target.index
        if target.size + unit.size - (leaving.size if leaving else 0) > target.cap:
            return False
        if unit.pin is not None or unit.oversized or target.shared != unit.shared or t in self.exclusive:
            return False
        if (target.pilot and not unit.pilot_ok) or not unit.release <= t <= (unit.deadline or t):
            return False
        if any(wave_of[x] > t for x in unit.providers) or any(wave_of[x] < t for x in unit.consumers):
            return False
        gone = leaving.name if leaving else None
        if any(wave_of[x] == t and x != gone for x in unit.anti):
            return False
        limit = p.rules.max_wave_storage_gb
        if limit is not None and target.storage + unit.storage - (leaving.storage if leaving else 0.0) > limit + EPS:
            return False
        if self.resources and not resource_ok(p, self.a.zone_used, unit, target, leaving):
            return False
        if p.rules.separate_environments:
            envs = dict(target.envs)
            if leaving:
                envs[leaving.env] -= 1
            return all(n <= 0 for e, n in envs.items() if e != unit.env)
        return True

    def shift(self, unit: Unit, target: WaveBox) -> None:
        source = self.box[self.a.wave_of[unit.name]]
        source.members.remove(unit.name)
        source.size -= unit.size
        source.storage -= unit.storage
        source.envs[unit.env] -= 1
        if self.resources:
            add_load(self.p, self.a.zone_used, unit, source, -1.0)
            add_load(self.p, self.a.zone_used, unit, target, 1.0)
        target.members.append(unit.name)
        target.size += unit.size
        target.storage += unit.storage
        target.envs[unit.env] += 1
        self.a.wave_of[unit.name] = target.index
        for other, w in self.p.weights.get(unit.name, {}).items():
            counts = self.cache[other]
            counts[source.index] -= w
            if counts[source.index] <= EPS:
                del counts[source.index]
            counts[target.index] += w

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
                self.shift(unit, self.box[t])
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
        self.shift(unit, target)
        self.shift(other, here)
        return True

    def descend(self) -> None:
        names = sorted(self.p.units)
        for _ in range(MAX_PASSES):
            changed = False
            for name in names:
                changed = self.try_move(self.p.units[name]) or changed
            for a, b in self.wave_pairs():
                if self.budget <= 0:
                    break
                changed = self.exchange(a, b) or changed
                changed = self.one_for_two(a, b) or changed
            if not changed or self.budget <= 0:
                break

    def kick(self, rng: random.Random, movable: list[str]) -> None:
        """Move or swap a few random units to random waves where they are allowed, whatever it costs."""
        for _ in range(rng.randint(2, max(3, len(movable) // 8))):
            unit = self.p.units[rng.choice(movable)]
            here = self.box[self.a.wave_of[unit.name]]
            target = self.box[rng.choice(list(self.box))]
            if target is here or len(here.members) < 2:
                continue
            if self.allowed(unit, target):
                self.shift(unit, target)
                continue
            others = [m for m in target.members if self.p.units[m].pin is None and not self.p.units[m].oversized]
            if others:
                other = rng.choice(others)
                if self.swap_allowed(unit.name, other, here, target):
                    self.shift(unit, target)
                    self.shift(self.p.units[other], here)
                elif len(others) > 1:
                    self.swap_two(unit, rng.sample(others, 2), here, target)

    def swap_two(self, unit: Unit, others: list[str], here: WaveBox, target: WaveBox) -> None:
        """``unit`` to ``target`` and two of its units to ``here``, when every constraint still holds."""
        moved = [(unit, target), *((self.p.units[o], here) for o in others)]
        if any(u.shared != box.shared or (box.pilot and not u.pilot_ok) for u, box in moved):
            return
        for u, box in moved:
            self.shift(u, box)
        if not all(self.holds(u) for u, _ in moved) or not all(self.box_holds(b) for b in (here, target)):
            for u, box in ((unit, here), *((self.p.units[o], target) for o in others)):
                self.shift(u, box)

    def holds(self, unit: Unit) -> bool:
        wave_of, t = self.a.wave_of, self.a.wave_of[unit.name]
        if not unit.release <= t <= (unit.deadline or t) or any(wave_of[x] == t for x in unit.anti):
            return False
        if unit.freezes and self.p.res.frozen(unit.name, unit.freezes, self.box[t].slot) is not None:
            return False
        return all(wave_of[x] <= t for x in unit.providers) and all(wave_of[x] >= t for x in unit.consumers)

    def box_holds(self, box: WaveBox) -> bool:
        limit = self.p.rules.max_wave_storage_gb
        if box.size > box.cap or (limit is not None and box.storage > limit + EPS) or not box.members:
            return False
        if self.resources and not self.loads_hold(box):
            return False
        return not self.p.rules.separate_environments or sum(1 for n in box.envs.values() if n > 0) <= 1

    def loads_hold(self, box: WaveBox) -> bool:
        """Bandwidth and zone limits hold in ``box`` (a wave of one unit may exceed its bandwidth)."""
        res = self.p.res
        if len(box.members) > 1:
            for site, gb in box.site_data.items():
                limit = res.site_limit_gb(site, box.slot)
                if limit is not None and gb > limit + 1e-6:
                    return False
        for (zone, period), row in self.a.zone_used.items():
            z = res.zones[zone]
            if period in (f"wave {box.index}", res.calendar.month(box.slot)):
                limits = (z.max_servers, z.max_vcpu, z.max_memory_gb)
                if any(lim is not None and v > lim + 1e-6 for v, lim in zip(row, limits, strict=True)):
                    return False
        return True

    def gains(self, box: WaveBox, other: WaveBox) -> list[tuple[float, str]]:
        """(gain of moving to ``other``, unit) for the movable units of ``box``, best first."""
        out = []
        for name in box.members:
            unit = self.p.units[name]
            if unit.pin is None and not unit.oversized:
                links = self.links(name)
                out.append((links.get(other.index, 0.0) - links.get(box.index, 0.0), name))
        return sorted(out, key=lambda t: (-t[0], t[1]))

    def best_exchange(self, a: WaveBox, b: WaveBox, locked: set[str]) -> tuple[float, str, str | None] | None:
        """The best allowed single move (either way) or swap between ``a`` and ``b`` of unlocked units."""
        best: tuple[float, str, str | None] | None = None
        ga = [(g, n) for g, n in self.gains(a, b) if n not in locked]
        gb = [(g, n) for g, n in self.gains(b, a) if n not in locked]
        for gains, source, target in ((ga, a, b), (gb, b, a)):
            if len(source.members) > 1:
                for g, n in gains:
                    if (best is None or g > best[0] + EPS) and self.allowed(self.p.units[n], target):
                        best = (g, n, None)
                        break
        for gu, u in ga:
            if best is not None and gu + (gb[0][0] if gb else 0.0) <= best[0] + EPS:
                break
            for gv, v in gb:
                self.budget -= 1
                total = gu + gv - 2 * self.p.weight(u, v)
                if best is not None and gu + gv <= best[0] + EPS:
                    break
                if (best is None or total > best[0] + EPS) and self.swap_allowed(u, v, a, b):
                    best = (total, u, v)
        return best

    def one_for_two(self, a: WaveBox, b: WaveBox) -> bool:
        """The best improving exchange of one unit of one wave for two units of the other (sizes that a
        one-for-one swap cannot match when waves are full); True when one was made."""
        ga, gb = dict((n, g) for g, n in self.gains(a, b)), dict((n, g) for g, n in self.gains(b, a))
        candidates: list[tuple[float, str, str, str, WaveBox, WaveBox]] = []
        units, weight = self.p.units, self.p.weight
        for src, dst, gs, gd in ((a, b, ga, gb), (b, a, gb, ga)):
            room_src, room_dst = src.cap - src.size, dst.cap - dst.size
            items = sorted(gd.items())
            pairs = [(v1, v2, units[v1].size + units[v2].size, g1 + g2 + 2 * weight(v1, v2))
                     for i, (v1, g1) in enumerate(items) for v2, g2 in items[i + 1:]]
            top = max((p[3] for p in pairs), default=0.0)
            for u, gu in sorted(gs.items()):
                if gu + top <= EPS:
                    continue  # no pair can make moving u pay
                su, wu = units[u].size, self.p.weights.get(u, {})
                self.budget -= len(pairs)
                for v1, v2, sv, base in pairs:
                    if sv - su > room_src or su - sv > room_dst:
                        continue
                    gain = gu + base - 2 * (wu.get(v1, 0.0) + wu.get(v2, 0.0))
                    if gain > EPS:
                        candidates.append((gain, u, v1, v2, src, dst))
        for _gain, u, v1, v2, src, dst in sorted(candidates, key=lambda c: (-c[0], c[1], c[2], c[3]))[:5]:
            moved = [(units[u], dst, src), (units[v1], src, dst), (units[v2], src, dst)]
            if any(x.shared != to.shared or (to.pilot and not x.pilot_ok) for x, to, _ in moved):
                continue
            for x, to, _ in moved:
                self.shift(x, to)
            if all(self.holds(x) for x, _, _ in moved) and self.box_holds(src) and self.box_holds(dst):
                return True
            for x, _, back in reversed(moved):
                self.shift(x, back)
        return False

    def swap_allowed(self, u: str, v: str, a: WaveBox, b: WaveBox) -> bool:
        unit, other = self.p.units[u], self.p.units[v]
        if v in unit.providers or v in unit.consumers or v in unit.anti:
            return False
        return self.allowed(unit, b, leaving=other) and self.allowed(other, a, leaving=unit)

    def apply(self, op: tuple[float, str, str | None], a: WaveBox, b: WaveBox) -> list[tuple[str, WaveBox]]:
        """Apply a move or swap; returns (unit, wave it came from) to undo it."""
        _, u, v = op
        source = a if u in a.members else b
        target = b if source is a else a
        done = [(u, source)]
        self.shift(self.p.units[u], target)
        if v is not None:
            self.shift(self.p.units[v], source)
            done.append((v, target))
        return done

    def exchange(self, a: WaveBox, b: WaveBox) -> bool:
        """One Kernighan-Lin pass between waves ``a`` and ``b``; True when it lowered the weight."""
        locked: set[str] = set()
        undo: list[list[tuple[str, WaveBox]]] = []
        total, best, keep = 0.0, 0.0, 0
        while self.budget > 0:
            op = self.best_exchange(a, b, locked)
            if op is None:
                break
            undo.append(self.apply(op, a, b))
            locked.update(n for n in op[1:] if n is not None)
            total += op[0]
            if total > best + EPS:
                best, keep = total, len(undo)
        for step in reversed(undo[keep:]):
            for name, box in reversed(step):
                self.shift(self.p.units[name], box)
        return keep > 0

    def wave_pairs(self) -> list[tuple[WaveBox, WaveBox]]:
        weight: dict[tuple[int, int], float] = defaultdict(float)
        for name, others in sorted(self.p.weights.items()):
            for other, w in others.items():
                x, y = self.a.wave_of[name], self.a.wave_of[other]
                if x < y:
                    weight[(x, y)] += w
        ranked = sorted(weight.items(), key=lambda t: (-t[1], t[0]))
        return [(self.box[x], self.box[y]) for (x, y), _ in ranked if self.box[x].shared == self.box[y].shared]


Snapshot = tuple[dict[str, int], list[tuple[list[str], int, float, dict[str, int], dict[str, float]]],
                 dict[tuple[str, str], list[float]]]


def _snapshot(assignment: Assignment) -> Snapshot:
    return (dict(assignment.wave_of),
            [(list(w.members), w.size, w.storage, dict(w.envs), dict(w.site_data)) for w in assignment.waves],
            {k: list(v) for k, v in assignment.zone_used.items()})


def _restore(assignment: Assignment, state: Snapshot) -> None:
    assignment.wave_of.clear()
    assignment.wave_of.update(state[0])
    for box, (members, size, storage, envs, data) in zip(assignment.waves, state[1], strict=True):
        box.members[:] = members
        box.size, box.storage = size, storage
        box.envs.clear()
        box.envs.update(envs)
        box.site_data.clear()
        box.site_data.update(data)
    assignment.zone_used.clear()
    assignment.zone_used.update({k: list(v) for k, v in state[2].items()})


def cut_weight(problem: Problem, assignment: Assignment) -> float:
    """Dependency weight between units in different waves."""
    wave_of = assignment.wave_of
    return sum(w for a, others in problem.weights.items() for b, w in others.items()
               if a < b and wave_of[a] != wave_of[b])


def improve(problem: Problem, assignment: Assignment, *, kicks: bool = True) -> tuple[float, dict[str, list[str]]]:
    """Improve ``assignment`` in place: descent, then iterated kicks (random moves from a fixed seed, kept only
    when the descent after them ends lower). Returns the weight between waves and, per unit, its move."""
    start = dict(assignment.wave_of)
    before = cut_weight(problem, assignment)
    search = _Search(problem, assignment)
    search.descend()
    best, state = cut_weight(problem, assignment), _snapshot(assignment)
    rng = random.Random(KICK_SEED)
    movable = sorted(n for n, u in problem.units.items() if u.pin is None and not u.oversized)
    for _ in range(min(MAX_KICKS, KICK_WORK // max(1, len(problem.units))) if movable and kicks else 0):
        search.kick(rng, movable)
        search.descend()
        cut = cut_weight(problem, assignment)
        if cut < best - EPS:
            best, state = cut, _snapshot(assignment)
        else:
            _restore(assignment, state)
            search.recount()
    if not search.resources:  # the loads were not kept up to date during the search: count them once
        for box in assignment.waves:
            box.site_data.clear()
            for name in box.members:
                for site, gb in problem.units[name].site_data.items():
                    box.site_data[site] += gb
    moves = {name: [f"moved from wave {wave} to wave {assignment.wave_of[name]} by the improvement pass (moves, "
                    f"swaps and exchanges between waves; the weight between waves fell from {before:g} to "
                    f"{best:g} overall)"] for name, wave in sorted(start.items()) if assignment.wave_of[name] != wave}
    return best, moves
