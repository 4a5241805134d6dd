"""Plain-words reasons for each server's wave: what `pindah plan explain ID SERVER` prints.

Each reason is one sentence about one thing that pulled or pushed the server: its application, how the
construction placed it, improvement moves, pins, hard providers/consumers, the dependencies that keep it in
its wave or cross waves, the wave's capacity (pilot, ramp), environment separation and anti-affinity.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from orchestrator.planner.calendar import MBIT_PER_GB, describe, listed, server_data, site_of, zone_of
from orchestrator.planner.grouping import Group
from orchestrator.planner.inputs import PlannerInputs, ServerInput
from orchestrator.planner.units import Problem, Unit
from orchestrator.planner.waves import Assignment, WaveBox

SHOWN = 3


@dataclass(frozen=True)
class Link:
    other: str
    weight: float
    port: int
    outbound: bool  # True: this server consumes ``other``


@dataclass
class Context:
    inputs: PlannerInputs
    groups: dict[str, Group]
    problem: Problem
    assignment: Assignment
    moves: dict[str, list[str]]
    shared: dict[str, str]
    server_app: dict[str, str]
    app_servers: dict[str, tuple[str, ...]]
    links: dict[str, list[Link]]

    @classmethod
    def make(cls, inputs: PlannerInputs, groups: list[Group], problem: Problem, assignment: Assignment, *,
             moves: dict[str, list[str]], shared: dict[str, str]) -> Context:
        links: dict[str, list[Link]] = defaultdict(list)
        for e in inputs.edges:
            links[e.source].append(Link(e.target, e.weight, e.port, True))
            links[e.target].append(Link(e.source, e.weight, e.port, False))
        return cls(inputs, {g.name: g for g in groups}, problem, assignment, moves, shared,
                   {s: g.name for g in groups for s in g.servers}, {g.name: g.servers for g in groups}, links)

    def wave_of_server(self, server: str) -> int:
        return self.assignment.wave_of[self.problem.unit_of_app[self.server_app[server]]]

    def box(self, unit: str) -> WaveBox:
        index = self.assignment.wave_of[unit]
        return next(b for b in self.assignment.waves if b.index == index)

    def placement(self, unit: str) -> str:
        text = self.assignment.why[unit]
        for move in self.moves.get(unit, []):
            text += f"; then {move}"
        return text


def _links(server: str, ctx: Context) -> list[str]:
    here = ctx.wave_of_server(server)
    same: dict[str, float] = defaultdict(float)
    cross: dict[str, float] = defaultdict(float)
    for link in ctx.links.get(server, []):
        (same if ctx.wave_of_server(link.other) == here else cross)[link.other] += link.weight
    out: list[str] = []
    if same:
        top = sorted(same.items(), key=lambda t: (-t[1], t[0]))[:SHOWN]
        out.append("moves together with the servers it is most linked to: "
                   + ", ".join(f"{n} (weight {w:g})" for n, w in top)
                   + (f" and {len(same) - SHOWN} more" if len(same) > SHOWN else ""))
    if cross:
        top = sorted(cross.items(), key=lambda t: (-t[1], t[0]))[:SHOWN]
        out.append("dependencies crossing to other waves (kept across the move): "
                   + ", ".join(f"{n} in wave {ctx.wave_of_server(n)} (weight {w:g})" for n, w in top)
                   + (f" and {len(cross) - SHOWN} more" if len(cross) > SHOWN else ""))
    return out


def _hard(unit: Unit, ctx: Context) -> list[str]:
    wave_of = ctx.assignment.wave_of
    out = [f"hard dependency {evidence}: its provider {p} is in wave {wave_of[p]}, so it cannot move before it"
           for p, evidence in sorted(unit.providers.items())[:SHOWN]]
    out += [f"hard dependency {evidence}: its consumer {c} is in wave {wave_of[c]}, so it must move no later"
            for c, evidence in sorted(unit.consumers.items())[:SHOWN]]
    return out


def _capacity(unit: Unit, ctx: Context) -> list[str]:
    rules = ctx.problem.rules
    box = next(b for b in ctx.assignment.waves if b.index == ctx.assignment.wave_of[unit.name])
    storage = f" of {rules.max_wave_storage_gb:g}" if rules.max_wave_storage_gb is not None else ""
    if unit.oversized:
        return [f"oversized: alone in wave {box.index} with {box.size} servers and {box.storage:g} GB"]
    limit = "its pilot limit" if box.pilot else (
        "its ramp limit" if box.cap < rules.max_wave_servers else "the wave limit")
    out = [f"wave {box.index} holds {box.size} of {box.cap} servers ({limit}) and {box.storage:g}{storage} GB"]
    if box.pilot:
        out.append(f"wave {box.index} is the pilot: only non-production servers of criticality "
                   f"{'/'.join(rules.pilot_criticality)}")
    elif ctx.problem.pilot and not unit.shared and not unit.pilot_ok:
        out.append("not in the pilot wave 1: its application has production servers or servers of a criticality "
                   "other than " + "/".join(rules.pilot_criticality))
    if rules.separate_environments:
        out.append(f"environments are kept separate: wave {box.index} holds only {unit.env} servers")
    return out


def _calendar(server: ServerInput, unit: Unit, ctx: Context) -> list[str]:
    """Dates, the freezes that cover the server, its replication and its zone's capacity, in plain words."""
    res, box = ctx.problem.res, ctx.box(unit.name)
    out: list[str] = []
    span = res.calendar.dates(box.slot)
    if span is not None:
        out.append(f"calendar: wave {box.index} runs {span[0]} to {span[1]}" + (f" ({box.note})" if "slot" in
                                                                                 box.note else ""))
    for freeze, servers in unit.freezes:
        if server.name in servers:
            out.append(f"calendar: {describe(freeze)} covers {listed(servers)}, so it may not move in a wave "
                       "overlapping "
                       f"{freeze.start} to {freeze.end}")
    site, data = site_of(server), server_data(server)
    mbps, limit = res.mbps(site), res.site_limit_gb(site, box.slot)
    if mbps is not None:
        total = box.site_data.get(site, 0.0)
        text = (f"replication: {data:g} GB of data from site {site} over {mbps:g} Mbit/s; the wave's {total:,.0f} "
                f"GB from that site take {total * MBIT_PER_GB / mbps / 3600:.1f} h")
        out.append(text + (f" of a {limit * MBIT_PER_GB / mbps / 3600:.0f} h window" if limit is not None else ""))
    zone = zone_of(server, res.zones.values())
    if zone is not None:
        period = res.period(zone.name, box.index, box.slot)
        row = ctx.assignment.zone_used.get((zone.name, period), [0.0, 0.0, 0.0])
        limits = [f"{v:g}/{lim:g} {what}" for v, lim, what in zip(
            row, (zone.max_servers, zone.max_vcpu, zone.max_memory_gb), ("servers", "vCPUs", "GB memory"),
            strict=True) if lim is not None]
        out.append(f"zone {zone.name}: lands there (site {site}); {period} uses " + (", ".join(limits) or "no limit"))
    return out


def server_reasons(server: ServerInput, ctx: Context) -> tuple[str, ...]:
    app = ctx.server_app[server.name]
    unit = ctx.problem.units[ctx.problem.unit_of_app[app]]
    out = [f"application {app}: {ctx.groups[app].why}"]
    if server.name in ctx.shared:
        out.append(ctx.shared[server.name])
    if len(unit.apps) > 1:
        out.append(f"moves as one with {', '.join(a for a in unit.apps if a != app)}: hard dependencies both ways")
    out.append(ctx.assignment.why[unit.name])
    out += ctx.moves.get(unit.name, [])
    if unit.pin is not None:
        out.append(f"pin: {unit.pin_why} (pindah.toml [plan.pins])")
    out += _hard(unit, ctx)
    out += _links(server.name, ctx)
    out += _capacity(unit, ctx)
    out += [f"kept apart from {other} (anti-affinity), which is in wave {ctx.assignment.wave_of[other]}"
            for other in sorted(unit.anti)]
    out += _calendar(server, unit, ctx)
    return tuple(out)
