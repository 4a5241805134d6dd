"""Assign move units to waves: greedy construction one wave at a time, deterministic.

Units are ranked largest first, then most linked, then by name. Wave k first takes the units that must be
in it (pinned there, or hard providers of something pinned there); then, if still empty, the best-ranked
unit allowed in it (the seed); then, while there is room, the allowed unit with the most dependency weight
to what is already in the wave; when no linked one fits, the largest allowed unit that fits.

"Allowed" is every constraint at once: the wave's server limit (pilot, ramp, max) and storage limit, the
pilot's eligibility (non-production, pilot criticality), hard providers already placed (same or earlier
wave), pins (not before the pinned wave), one environment per wave when separated, and anti-affinity.
An oversized unit (more servers or storage than any wave holds) gets a wave of its own. Shared services
are scheduled the same way after every regular wave.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from orchestrator.planner.calendar import MAX_SLOTS
from orchestrator.planner.constraints import InfeasiblePlan
from orchestrator.planner.units import Problem, Unit

SHARED_POLICY = ("shared services move in the last wave(s): every consumer moves first and keeps reaching "
                 "them on-premises, so no shared service is cut over while an unmoved consumer still needs "
                 "it in its old place, and name resolution/monitoring change only once")


@dataclass
class WaveBox:
    index: int
    cap: int
    pilot: bool
    shared: bool
    members: list[str] = field(default_factory=list)
    size: int = 0
    storage: float = 0.0
    envs: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    note: str = ""
    slot: int = 0  # calendar slot (see calendar.py); 0: set to the index
    site_data: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def __post_init__(self) -> None:
        self.slot = self.slot or self.index


@dataclass(frozen=True)
class Preference:
    """Waves of a base plan (unit -> wave, counted from the first regular or the first shared wave)."""

    plan_id: str
    waves: dict[str, int]


ZoneUsed = dict[tuple[str, str], list[float]]  # (zone, period) -> [servers, vCPU, memory GB]


@dataclass
class Assignment:
    waves: list[WaveBox]
    wave_of: dict[str, int]  # unit -> wave index
    why: dict[str, str]  # unit -> how the construction placed it
    zone_used: ZoneUsed = field(default_factory=lambda: defaultdict(lambda: [0.0, 0.0, 0.0]))


def add_load(p: Problem, used: ZoneUsed, unit: Unit, box: WaveBox, sign: float) -> None:
    """Add (sign 1) or take away (sign -1) ``unit``'s data and zone use in ``box``."""
    for site, gb in unit.site_data.items():
        box.site_data[site] += sign * gb
    for zone, need in unit.zone_need.items():
        row = used[(zone, p.res.period(zone, box.index, box.slot))]
        for i, value in enumerate(need):
            row[i] += sign * value


def resource_ok(p: Problem, used: ZoneUsed, unit: Unit, box: WaveBox, leaving: Unit | None = None) -> bool:
    """resource_refusal(...) is None, faster (the local search asks this millions of times)."""
    res = p.res
    if unit.freezes and res.frozen(unit.name, unit.freezes, box.slot) is not None:
        return False
    if res.calendar.dated and box.members and not (leaving is not None and len(box.members) == 1):
        data = box.site_data
        for site, gb in unit.site_data.items():
            limit = res.site_limit_gb(site, box.slot)
            if limit is not None and gb > 0 and data.get(site, 0.0) + gb - (
                    leaving.site_data.get(site, 0.0) if leaving else 0.0) > limit + 1e-6:
                return False
    for zone, need in unit.zone_need.items():
        row = used.get((zone, res.period(zone, box.index, box.slot)))
        gone = leaving.zone_need.get(zone) if leaving is not None else None
        for i, limit in enumerate(res.limits[zone]):
            if limit is not None and (row[i] if row else 0.0) - (gone[i] if gone else 0.0) + need[i] > limit + 1e-6:
                return False
    return True


def resource_refusal(p: Problem, used: ZoneUsed, unit: Unit, box: WaveBox, leaving: Unit | None = None
                     ) -> str | None:
    """Freeze, bandwidth or zone capacity that keeps ``unit`` out of ``box`` (with ``leaving`` taken out)."""
    if unit.freezes:
        frozen = p.res.frozen(unit.name, unit.freezes, box.slot)
        if frozen is not None:
            return frozen
    alone = not box.members or (leaving is not None and box.members == [leaving.name])
    for site, gb in sorted(unit.site_data.items()) if not alone else ():
        limit = p.res.site_limit_gb(site, box.slot)
        have = box.site_data.get(site, 0.0) - (leaving.site_data.get(site, 0.0) if leaving else 0.0)
        if limit is not None and gb > 0 and have + gb > limit + 1e-6:
            return (f"site {site}'s link ({p.res.mbps(site):g} Mbit/s) replicates at most {limit:,.0f} GB in wave "
                    f"{box.index}'s window; {have:,.0f} GB are planned, it needs {gb:,.0f} GB more")
    for zone, need in sorted(unit.zone_need.items()):
        z, period = p.res.zones[zone], p.res.period(zone, box.index, box.slot)
        row = used.get((zone, period), [0.0, 0.0, 0.0])
        gone = leaving.zone_need.get(zone, (0, 0, 0.0)) if leaving else (0, 0, 0.0)
        for i, (what, limit) in enumerate((("servers", z.max_servers), ("vCPUs", z.max_vcpu),
                                           ("GB memory", z.max_memory_gb))):
            if limit is not None and row[i] - gone[i] + need[i] > limit + 1e-6:
                return (f"zone {zone} takes at most {limit:g} {what} in {period}; {row[i] - gone[i]:g} are planned, "
                        f"it needs {need[i]:g}")
    return None


class _Builder:
    def __init__(self, problem: Problem, guide: dict[str, int] | None, prefer: Preference | None = None) -> None:
        self.p = problem
        self.prefer = prefer
        self.first = 1  # index of the first wave of the current run (regular, then shared)
        units = problem.units.values()
        self.guide = guide or {}
        self.rank = {u.name: i for i, u in enumerate(sorted(
            units, key=lambda u: (self.guide.get(u.name, -1), -u.size,
                                  -sum(problem.weights.get(u.name, {}).values()), u.name)))}
        self.wave_of: dict[str, int] = {}
        self.why: dict[str, str] = {}
        self.waves: list[WaveBox] = []
        self.zone_used: ZoneUsed = defaultdict(lambda: [0.0, 0.0, 0.0])

    def refusal(self, unit: Unit, box: WaveBox, *, capacity: bool = True) -> str | None:
        """Why ``unit`` may not join ``box`` now, or None when it may."""
        p = self.p
        if box.pilot and not unit.pilot_ok:
            return (f"wave {box.index} is the pilot: only non-production servers of criticality "
                    f"{'/'.join(p.rules.pilot_criticality)}")
        if unit.release > box.index:
            return f"it cannot move before wave {unit.release} ({unit.pin_why or 'a hard provider is pinned later'})"
        waiting = sorted(u for u in unit.providers if self.wave_of.get(u, box.index + 1) > box.index)
        if waiting:
            return f"its hard provider(s) {', '.join(waiting)} are not placed yet"
        partners = sorted(unit.anti & set(box.members))
        if partners:
            return f"anti-affinity with {', '.join(partners)} in wave {box.index}"
        if p.rules.separate_environments and any(n for e, n in box.envs.items() if e != unit.env):
            return f"wave {box.index} holds other-environment servers and environments are kept separate"
        frozen = p.res.frozen(unit.name, unit.freezes, box.slot) if unit.freezes else None
        if frozen is not None or not capacity:
            return frozen
        resource = resource_refusal(p, self.zone_used, unit, box)
        if resource is not None:
            return resource
        if box.members and (unit.oversized or any(p.units[m].oversized for m in box.members)):
            return "an oversized unit moves alone"
        if box.size + unit.size > box.cap:
            return f"wave {box.index} has {box.cap - box.size} of {box.cap} server places left, it needs {unit.size}"
        limit = p.rules.max_wave_storage_gb
        if limit is not None and box.members and box.storage + unit.storage > limit:
            return f"wave {box.index} has {limit - box.storage:g} of {limit:g} GB left, it needs {unit.storage:g}"
        return None

    def place(self, unit: Unit, box: WaveBox, why: str) -> None:
        box.members.append(unit.name)
        box.size += unit.size
        box.storage += unit.storage
        box.envs[unit.env] += 1
        add_load(self.p, self.zone_used, unit, box, 1.0)
        self.wave_of[unit.name] = box.index
        shared = "shared services go in wave(s) of their own after every other wave; " if unit.shared else ""
        self.why[unit.name] = f"placed in wave {box.index} because {shared}{why}"

    def must(self, box: WaveBox, unplaced: dict[str, None]) -> None:
        due = sorted((u for u in unplaced if self.p.units[u].deadline == box.index), key=self.p.topo.__getitem__)
        for name in due:
            unit = self.p.units[name]
            refusal = self.refusal(unit, box)
            if refusal is not None:
                raise InfeasiblePlan(
                    f"{name} must be in wave {box.index} ({unit.pin_why or 'a hard consumer of it is pinned there'}) "
                    f"but {refusal}", items=(name, *box.members), constraints=("pins", *_constraint_of(refusal)),
                    hint="move or drop the pin, or relax the constraint named")
            why = unit.pin_why or "it is a hard provider of an application pinned to this wave"
            self.place(unit, box, f"{why}, so it must move in wave {box.index}")
            del unplaced[name]

    def later(self, name: str, box: WaveBox) -> bool:
        """With a base plan: the unit was in a later wave there, so it waits for that wave."""
        return self.prefer is not None and self.prefer.waves.get(name, 0) > box.index - self.first + 1

    def preferred(self, box: WaveBox, unplaced: dict[str, None]) -> None:
        """With a base plan: first the units that were in this wave there, if still allowed."""
        if self.prefer is None:
            return
        wave, placed = box.index - self.first + 1, True
        while placed:  # again after each round: a placed provider lets its consumers in
            placed = False
            for name in [u for u in unplaced if self.prefer.waves.get(u) == wave]:
                if self.refusal(self.p.units[name], box) is None:
                    self.place(self.p.units[name], box, f"it was in wave {box.index} of the base plan "
                                                        f"{self.prefer.plan_id} and still may be")
                    del unplaced[name]
                    placed = True

    def seed(self, box: WaveBox, unplaced: dict[str, None]) -> None:
        for name in unplaced:
            if self.later(name, box):
                continue
            unit = self.p.units[name]
            if unit.oversized and self.refusal(unit, box, capacity=False) is None:
                self.place(unit, box, self.oversized_why(unit))
                del unplaced[name]
                return
            if self.refusal(unit, box) is None:
                self.place(unit, box, "it is the largest (then most linked) unit allowed in the wave, so it opens "
                                      "the wave")
                del unplaced[name]
                return
        for name in unplaced if not box.pilot else ():  # nothing fits: the best-ranked allowed unit goes alone
            unit = self.p.units[name]
            if self.refusal(unit, box, capacity=False) is None:
                if unit.oversized:
                    why = self.oversized_why(unit)
                else:
                    box.note = f"limit raised from {box.cap} to {unit.size}: no allowed unit fitted"
                    box.cap = unit.size
                    why = f"no allowed unit fitted wave {box.index}'s limit, so the limit was raised to its size"
                self.place(unit, box, why)
                del unplaced[name]
                return

    def oversized_why(self, unit: Unit) -> str:
        limit = self.p.rules.max_wave_storage_gb
        storage = f" / {limit:g} GB" if limit is not None else ""
        return (f"it alone has {unit.size} servers / {unit.storage:g} GB, more than a wave holds "
                f"({self.p.rules.max_wave_servers} servers{storage}), so it gets a wave of its own")

    def fill(self, box: WaveBox, unplaced: dict[str, None]) -> None:
        affinity: dict[str, float] = defaultdict(float)
        for member in box.members:
            for other, w in self.p.weights.get(member, {}).items():
                affinity[other] += w
        groups = {self.guide[m] for m in box.members if m in self.guide}
        while True:
            linked = [u for u, w in affinity.items() if w > 0 and u in unplaced and not self.later(u, box)
                      and self.refusal(self.p.units[u], box) is None]
            pick = max(linked, key=lambda u: (self.guide.get(u, -1) in groups, affinity[u], -self.rank[u]),
                       default=None)
            if pick is not None:
                why = (f"it has the most dependency weight ({affinity[pick]:g}) to units already in wave "
                       f"{box.index}: {self.partners(pick, box.members)}")
            else:
                pick = next((u for u in unplaced if not self.later(u, box)
                             and self.refusal(self.p.units[u], box) is None), None)
                if pick is None:
                    return
                why = "no unplaced unit linked to the wave was allowed in it; it is the largest one that was"
            self.place(self.p.units[pick], box, why)
            del unplaced[pick]
            if pick in self.guide:
                groups.add(self.guide[pick])
            for other, w in self.p.weights.get(pick, {}).items():
                affinity[other] += w

    def partners(self, name: str, members: list[str]) -> str:
        ranked = sorted(((self.p.weight(name, o), o) for o in members), key=lambda t: (-t[0], t[1]))
        return ", ".join(f"{o} ({w:g})" for w, o in ranked[:3] if w > 0)

    def open_wave(self, index: int, shared: bool, unplaced: dict[str, None]) -> WaveBox:
        """Wave ``index`` in the first slot (from the one after the previous wave's) where something may move."""
        slot = self.waves[-1].slot + 1 if self.waves else 1
        skipped: list[str] = []
        while True:
            pilot = self.p.pilot and index == 1 and not shared
            box = WaveBox(index, self.p.cap(index) if not shared else self.p.rules.max_wave_servers, pilot, shared,
                          slot=slot)
            self.must(box, unplaced)
            self.preferred(box, unplaced)
            if not box.members:
                self.seed(box, unplaced)
            if not box.members and self.prefer is not None:
                prefer, self.prefer = self.prefer, None  # every unit waits for a later wave: take the next one
                self.seed(box, unplaced)
                self.prefer = prefer
            if box.members or pilot or slot >= MAX_SLOTS:
                break
            timed = next((r for u in unplaced if (r := resource_refusal(self.p, self.zone_used, self.p.units[u], box))),
                         None)
            if timed is None or not self.p.res.calendar.dated:
                break
            skipped.append(f"{slot}: {timed}")
            slot += 1
        if skipped:
            box.note = (f"{len(skipped)} calendar slot(s) skipped before this wave because nothing could move in "
                        f"them (first: slot {skipped[0]})")
        return box

    def run(self, names: list[str], shared: bool) -> None:
        unplaced = dict.fromkeys(sorted(names, key=self.rank.__getitem__))
        self.first = len(self.waves) + 1
        while unplaced:
            index = len(self.waves) + 1
            box = self.open_wave(index, shared, unplaced)
            if not box.members and box.pilot:
                self.p.pilot = False  # no pilot-eligible unit fits the pilot: plan without one
                continue
            if not box.members:
                blocked = sorted(unplaced)[:10]
                raise InfeasiblePlan(
                    f"nothing can move in wave {index}: every unplaced unit is pinned to a later wave or waits "
                    f"for one ({', '.join(blocked)})", items=blocked, constraints=("pins",),
                    hint=f"pin to wave {index} or earlier, or remove pins that leave waves empty")
            self.fill(box, unplaced)
            self.waves.append(box)


def _constraint_of(refusal: str) -> tuple[str, ...]:
    for needle, key in (("change freeze", "freeze"), ("Mbit/s", "bandwidth_mbps"), ("zone ", "zones"),
                        ("pilot", "pilot_servers"), ("anti-affinity", "anti_affinity"),
                        ("environment", "separate_environments"), ("hard provider", "hard_ports"),
                        ("server places", "max_wave_servers"), ("GB", "max_wave_storage_gb"),
                        ("oversized", "max_wave_servers")):
        if needle in refusal:
            return (key,)
    return ()


def construct(problem: Problem, guide: dict[str, int] | None = None, prefer: Preference | None = None
              ) -> Assignment:
    """Regular units into waves 1..n under every constraint, then shared services into the waves after.

    ``guide`` (unit -> cluster number, see cluster.py) changes only the order of preference: units of the
    lowest-numbered cluster open waves first, and a wave prefers units of the clusters it already holds.
    ``prefer`` (a base plan's waves) keeps units where they were when the constraints still allow it: a wave
    first takes the units that were in it, and no unit joins a wave before the one it was in.
    """
    builder = _Builder(problem, guide, prefer)
    builder.run([u.name for u in problem.units.values() if not u.shared], shared=False)
    builder.run([u.name for u in problem.units.values() if u.shared], shared=True)
    return Assignment(builder.waves, builder.wave_of, builder.why, builder.zone_used)
