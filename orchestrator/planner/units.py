"""The scheduling problem: move units (applications, or applications tied by a cycle of hard dependencies),
their sizes, environments, hard provider/consumer links, pins, anti-affinity and the wave limits.

Everything a wave assignment must respect is checked here before any wave is built, so that conflicts
between constraints are reported up front, naming what is in conflict and what to relax.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx

from orchestrator.errors import PlanError
from orchestrator.plan import Freeze, PlanRules
from orchestrator.planner.calendar import Resources, covers, describe, listed, server_data, site_of, zone_of
from orchestrator.planner.constraints import InfeasiblePlan
from orchestrator.planner.grouping import Group
from orchestrator.planner.inputs import PlannerInputs, ServerInput

Weights = dict[str, dict[str, float]]


@dataclass
class Unit:
    name: str
    apps: tuple[str, ...]
    size: int
    storage: float
    env: str  # "prod" | "nonprod" (unknown counts as prod)
    pilot_ok: bool
    shared: bool
    providers: dict[str, str] = field(default_factory=dict)  # provider unit -> evidence "a -> b:port"
    consumers: dict[str, str] = field(default_factory=dict)
    pin: int | None = None
    pin_why: str = ""
    release: int = 1
    deadline: int | None = None
    anti: set[str] = field(default_factory=set)
    oversized: bool = False
    freezes: list[tuple[Freeze, tuple[str, ...]]] = field(default_factory=list)  # freeze, its servers it covers
    site_data: dict[str, float] = field(default_factory=dict)  # source site -> GB to replicate
    zone_need: dict[str, tuple[int, int, float]] = field(default_factory=dict)  # zone -> servers, vCPU, memory GB


@dataclass
class Problem:
    units: dict[str, Unit]
    weights: Weights  # unit -> unit -> weight (undirected)
    rules: PlanRules
    unit_of_app: dict[str, str]
    topo: dict[str, int]  # providers before consumers
    pilot: bool
    res: Resources

    def cap(self, index: int) -> int:
        limit = self.rules.max_wave_servers
        if self.pilot and index == 1:
            return min(self.rules.pilot_servers, limit)
        step = index - (2 if self.pilot else 1)
        return min(self.rules.ramp[step], limit) if 0 <= step < len(self.rules.ramp) else limit

    def weight(self, a: str, b: str) -> float:
        return self.weights.get(a, {}).get(b, 0.0)


def _env(servers: list[ServerInput]) -> str:
    return "nonprod" if servers and all(s.environment == "nonprod" for s in servers) else "prod"


def _hard_links(inputs: PlannerInputs, owner: Mapping[str, Group], rules: PlanRules) -> dict[tuple[str, str], str]:
    """(consumer app, provider app) -> first evidence, for hard-port edges between regular applications."""
    hard = set(rules.hard_ports)
    links: dict[tuple[str, str], str] = {}
    for edge in inputs.edges:
        a, b = owner[edge.source], owner[edge.target]
        if edge.port in hard and a.name != b.name and a.source != "shared" and b.source != "shared":
            links.setdefault((a.name, b.name), f"{edge.source} -> {edge.target}:{edge.port}")
    return links


def _merged(groups: list[Group], rules: PlanRules) -> list[tuple[str, str]]:
    """Both-way ties between the applications of each [plan] merge group."""
    names = {g.name for g in groups}
    out = []
    for group in rules.merge:
        for name in group:
            if name not in names:
                raise PlanError(f"[plan] merge names {name!r}, which is no application of this plan",
                                hint="use application names as 'pindah plan show' lists them")
        out += [(a, b) for a in group for b in group if a != b]
    return out


def _make_units(groups: list[Group], inputs: PlannerInputs, links: dict[tuple[str, str], str],
                rules: PlanRules) -> dict[str, Unit]:
    by_name = {s.name: s for s in inputs.servers}
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(g.name for g in groups)
    graph.add_edges_from(links)
    graph.add_edges_from(_merged(groups, rules))
    apps = {g.name: g for g in groups}
    units: dict[str, Unit] = {}
    for component in nx.strongly_connected_components(graph):
        names = tuple(sorted(component))
        servers = [by_name[s] for a in names for s in apps[a].servers]
        pilot_ok = all(s.environment == "nonprod" and s.criticality in rules.pilot_criticality for s in servers)
        unit = Unit(" + ".join(names), names, len(servers), sum(s.disk_gb or 0.0 for s in servers), _env(servers),
                    pilot_ok, apps[names[0]].source == "shared")
        storage_cap = rules.max_wave_storage_gb
        unit.oversized = unit.size > rules.max_wave_servers or (storage_cap is not None and unit.storage > storage_cap)
        if unit.oversized and len(names) > 1:
            raise InfeasiblePlan(
                f"applications {', '.join(names)} must share a wave (hard dependencies both ways, or [plan] merge), "
                f"but together they have {unit.size} servers / {unit.storage:g} GB, more than one wave holds",
                items=names, constraints=("hard_ports", "merge", "max_wave_servers"),
                hint="raise max_wave_servers/max_wave_storage_gb, drop the cycle's port from [plan] hard_ports, "
                     "or drop the merge")
        envs = {s.environment == "nonprod" for s in servers}
        if rules.separate_environments and len(envs) > 1:
            raise InfeasiblePlan(
                f"{' + '.join(names)} must move as one (one application, or applications tied by hard dependencies "
                "both ways) but has both production and non-production servers, and environments are kept separate",
                items=names, constraints=("separate_environments", "hard_ports"),
                hint="set separate_environments = false, fix the servers' environment, or drop the cycle's port "
                     "from hard_ports")
        units[unit.name] = unit
    return units


def _link_units(units: dict[str, Unit], unit_of_app: dict[str, str], links: dict[tuple[str, str], str]) -> None:
    for (consumer, provider), evidence in sorted(links.items()):
        c, p = unit_of_app[consumer], unit_of_app[provider]
        if c != p:
            units[c].providers.setdefault(p, evidence)
            units[p].consumers.setdefault(c, evidence)


def _resolve(name: str, unit_of_app: dict[str, str], app_of_server: dict[str, str], key: str) -> str:
    if name in unit_of_app:
        return unit_of_app[name]
    if name in app_of_server:
        return unit_of_app[app_of_server[name]]
    raise PlanError(f"[plan] {key} names {name!r}, which is neither a planned server nor an application",
                    hint="fix the name in pindah.toml (see 'pindah plan show' for the names)")


def _apply_pins(units: dict[str, Unit], rules: PlanRules, unit_of_app: dict[str, str],
                app_of_server: dict[str, str]) -> None:
    for name, wave in rules.pins:
        unit = units[_resolve(name, unit_of_app, app_of_server, "pins")]
        if unit.shared:
            raise InfeasiblePlan(f"pin {name} -> wave {wave}: {name} is a shared service, and shared services "
                                 "move in the last waves", items=(name,), constraints=("pins",),
                                 hint="remove the pin, or clear its shared-service role")
        if unit.pin is not None and unit.pin != wave:
            raise InfeasiblePlan(f"pins disagree: {unit.pin_why} but {name} -> wave {wave}, and "
                                 f"{unit.name} moves as one", items=(unit.name, name), constraints=("pins",),
                                 hint="pin the whole application to one wave")
        unit.pin, unit.pin_why = wave, f"{name} is pinned to wave {wave}"
        unit.release, unit.deadline = wave, wave


def _apply_anti(units: dict[str, Unit], rules: PlanRules, unit_of_app: dict[str, str],
                app_of_server: dict[str, str]) -> None:
    for group in rules.anti_affinity:
        members = [(n, _resolve(n, unit_of_app, app_of_server, "anti_affinity")) for n in group]
        for i, (name_a, a) in enumerate(members):
            for name_b, b in members[i + 1:]:
                if a == b:
                    raise InfeasiblePlan(f"anti-affinity {name_a} / {name_b}: both are in {a}, which moves as one",
                                         items=(name_a, name_b), constraints=("anti_affinity",),
                                         hint="drop the anti-affinity, or split the application")
                if units[a].pin is not None and units[a].pin == units[b].pin:
                    raise InfeasiblePlan(f"anti-affinity {name_a} / {name_b} conflicts with the pins: "
                                         f"{units[a].pin_why}, {units[b].pin_why}", items=(name_a, name_b),
                                         constraints=("anti_affinity", "pins"), hint="pin one of them elsewhere")
                units[a].anti.add(b)
                units[b].anti.add(a)


def _propagate(units: dict[str, Unit], order: list[str]) -> None:
    """Release dates flow to consumers, deadlines to providers; a release after a deadline is a conflict."""
    for name in order:
        unit = units[name]
        for provider in unit.providers:
            unit.release = max(unit.release, units[provider].release)
    for name in reversed(order):
        unit = units[name]
        for consumer in unit.consumers:
            limit = units[consumer].deadline
            if limit is not None and (unit.deadline is None or limit < unit.deadline):
                unit.deadline = limit
    for unit in units.values():
        if unit.deadline is not None and unit.release > unit.deadline:
            raise InfeasiblePlan(
                f"{unit.name} cannot move before wave {unit.release} (a hard provider of it is pinned there or "
                f"later) nor after wave {unit.deadline} (a hard consumer of it is pinned there or earlier)",
                items=(unit.name, *sorted(unit.providers), *sorted(unit.consumers)),
                constraints=("pins", "hard_ports"), hint="move one of the pins, or drop the port from hard_ports")


def _resources(units: dict[str, Unit], groups: list[Group], inputs: PlannerInputs, res: Resources,
               needs: Mapping[str, tuple[int, float]]) -> None:
    """Each unit's data per site, target size per zone and the freezes that cover it."""
    by_name = {s.name: s for s in inputs.servers}
    app_of = {s: g.name for g in groups for s in g.servers}
    members = {g.name: g.servers for g in groups}
    for unit in units.values():
        servers = [by_name[s] for a in unit.apps for s in members[a]]
        for server in servers:
            site = site_of(server)
            unit.site_data[site] = unit.site_data.get(site, 0.0) + server_data(server)
            zone = zone_of(server, res.zones.values())
            if zone is not None:
                n, cpu, mem = unit.zone_need.get(zone.name, (0, 0, 0.0))
                vcpu, memory = needs.get(server.name, (server.cpu_count or 1, (server.memory_mb or 1024) / 1024))
                unit.zone_need[zone.name] = (n + 1, cpu + vcpu, round(mem + memory, 6))
        for freeze in res.freezes:
            hit = sorted(s.name for s in servers if covers(freeze, s, app_of[s.name]))
            if hit:
                unit.freezes.append((freeze, tuple(hit)))
        _fits_zones(unit, res)


def _fits_zones(unit: Unit, res: Resources) -> None:
    for zone_name, (n, cpu, mem) in sorted(unit.zone_need.items()):
        zone = res.zones[zone_name]
        for what, need, limit, key in (("servers", n, zone.max_servers, "max_servers"),
                                       ("vCPUs", cpu, zone.max_vcpu, "max_vcpu"),
                                       ("GB of memory", mem, zone.max_memory_gb, "max_memory_gb")):
            if limit is not None and need > limit:
                raise InfeasiblePlan(
                    f"{unit.name} moves as one and needs {need:g} {what} in zone {zone_name}, more than the zone "
                    f"takes per {zone.per} ({limit:g})", items=(unit.name,), constraints=(f"zones.{zone_name}.{key}",),
                    hint=f"raise [plan.zones.{zone_name}] {key}, map some of its sites to another zone, or split "
                         "the application ([plan.split])")


def describe_freezes(unit: Unit) -> list[str]:
    return [f"{describe(f)} covers {listed(servers)}" for f, servers in unit.freezes]


def build_problem(groups: list[Group], inputs: PlannerInputs, rules: PlanRules, app_weights: Weights,
                  needs: Mapping[str, tuple[int, float]] | None = None) -> Problem:
    owner = {s: g for g in groups for s in g.servers}
    links = _hard_links(inputs, owner, rules)
    units = _make_units(groups, inputs, links, rules)
    unit_of_app = {a: u.name for u in units.values() for a in u.apps}
    app_of_server = {s: g.name for g in groups for s in g.servers}
    _link_units(units, unit_of_app, links)
    weights: Weights = defaultdict(lambda: defaultdict(float))
    for app, others in app_weights.items():
        for other, w in others.items():
            if unit_of_app[app] != unit_of_app[other]:
                weights[unit_of_app[app]][unit_of_app[other]] += w
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(sorted(units))
    graph.add_edges_from((p, c) for c, u in units.items() for p in u.providers)
    order = list(nx.lexicographical_topological_sort(graph))
    _apply_pins(units, rules, unit_of_app, app_of_server)
    _apply_anti(units, rules, unit_of_app, app_of_server)
    _propagate(units, order)
    pilot = rules.pilot_servers > 0 and any(u.pilot_ok and not u.shared for u in units.values())
    res = Resources.make(rules)
    _resources(units, groups, inputs, res, needs or {})
    return Problem(dict(sorted(units.items())), weights, rules, unit_of_app,
                   {n: i for i, n in enumerate(order)}, pilot, res)
