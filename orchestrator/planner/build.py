"""The planner: inputs and rules in, Plan out. Pure and deterministic (created_at is passed in)."""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.errors import PlanError
from orchestrator.plan import (
    Application,
    ExternalDependency,
    Plan,
    PlanDependency,
    PlannedServer,
    PlanRules,
    SiteReplication,
    Wave,
    ZoneUse,
    validate_plan_id,
)
from orchestrator.planner.calendar import replication, server_data, zone_of
from orchestrator.planner.cluster import clusters
from orchestrator.planner.constraints import InfeasiblePlan
from orchestrator.planner.grouping import Group, apply_splits, dependency_graph, group_servers, shared_services
from orchestrator.planner.improve import improve
from orchestrator.planner.inputs import SHARED_ROLE, PlannerInputs, ServerInput
from orchestrator.planner.reasons import Context, server_reasons
from orchestrator.planner.sizing import Catalog, Sizing, SizingRules, need, size_server
from orchestrator.planner.strategy import consolidation, strategy
from orchestrator.planner.units import Problem, Weights, build_problem, describe_freezes
from orchestrator.planner.waves import SHARED_POLICY, Assignment, Preference, WaveBox, construct

ONE_START_UNITS = 400  # above this many move units, one construction (the plain one) keeps planning under 5 s


def app_weights(groups: list[Group], inputs: PlannerInputs) -> Weights:
    """Undirected dependency weight between applications (edges inside an application are left out)."""
    owner = {server: g.name for g in groups for server in g.servers}
    weights: Weights = {}
    for edge in inputs.edges:
        a, b = owner[edge.source], owner[edge.target]
        if a != b:
            weights.setdefault(a, {})[b] = weights.get(a, {}).get(b, 0.0) + edge.weight
            weights.setdefault(b, {})[a] = weights.get(b, {}).get(a, 0.0) + edge.weight
    return weights


def _check(inputs: PlannerInputs, plan_id: str, max_wave_servers: int) -> None:
    validate_plan_id(plan_id)
    if max_wave_servers < 1:
        raise PlanError(f"max wave size must be at least 1, got {max_wave_servers}",
                        hint="pass --max-wave-servers N with N >= 1 or fix [plan] max_wave_servers")
    if not inputs.servers:
        raise PlanError("there are no servers to plan",
                        hint="run 'pindah discover' or 'pindah import servers FILE' first")


def _preference(problem: Problem, base: Plan) -> Preference:
    """Each unit's wave in ``base``, counted from base's first regular / first shared wave."""
    wave = {a.name: a.wave for a in base.applications}
    first_shared = min((a.wave for a in base.applications if a.source == "shared"), default=1)
    out: dict[str, int] = {}
    for unit in problem.units.values():
        known = [wave[a] for a in unit.apps if a in wave]
        if known:
            out[unit.name] = min(known) - (first_shared - 1 if unit.shared else 0)
    return Preference(base.id, out)


def schedule(groups: list[Group], inputs: PlannerInputs, rules: PlanRules, base: Plan | None = None,
             needs: Mapping[str, tuple[int, float]] | None = None) -> tuple[Problem, Assignment, dict[str, list[str]]]:
    """Two constructions under every constraint (plain, and guided by agglomerative clusters), each followed by
    local search; the one with less weight between waves wins (the plain one on a tie). Above ONE_START_UNITS
    move units only the plain one (time)."""
    problem = build_problem(groups, inputs, rules, app_weights(groups, inputs), needs)
    if base is not None:  # stability: start from the base plan's waves, improve from there
        assignment = construct(problem, prefer=_preference(problem, base))
        return problem, assignment, improve(problem, assignment, kicks=False)[1]
    best: tuple[float, Assignment, dict[str, list[str]]] | None = None
    starts = (None,) if len(problem.units) > ONE_START_UNITS else (None, clusters(problem))
    for guide in starts:
        assignment = construct(problem, guide)
        cut, moves = improve(problem, assignment)
        if best is None or cut < best[0] - 1e-9:
            best = (cut, assignment, moves)
    assert best is not None
    return problem, best[1], best[2]


def build_plan(inputs: PlannerInputs, *, plan_id: str, max_wave_servers: int, created_at: str,
               rules: PlanRules | None = None, catalog: Catalog | None = None, base: Plan | None = None) -> Plan:
    """Group servers into applications and applications into waves; every decision carries a reason."""
    _check(inputs, plan_id, max_wave_servers)
    rules = (rules or PlanRules(max_wave_servers=max_wave_servers)).model_copy(
        update={"max_wave_servers": max_wave_servers})
    graph = dependency_graph(inputs)
    shared = shared_services(inputs, graph)
    groups = apply_splits(group_servers(inputs, graph, shared), rules.split)
    srules = SizingRules(percentile=rules.sizing_percentile, comfort=rules.sizing_comfort,
                         min_samples=rules.sizing_min_samples)
    sizings = {s.name: size_server(s, catalog, srules) for s in inputs.servers} if catalog else {}
    needs = {s.name: (sizings[s.name].vcpu, sizings[s.name].memory_gb) if s.name in sizings
             else need(s, srules)[:2] for s in inputs.servers}
    problem, assignment, moves = schedule(groups, inputs, rules, base, needs)
    ctx = Context.make(inputs, groups, problem, assignment, moves=moves, shared=shared)
    _check_end(ctx)
    wave_of = {server: ctx.wave_of_server(server) for server in ctx.server_app}
    cross = sum(e.weight for e in inputs.edges if wave_of[e.source] != wave_of[e.target])
    oversized = tuple(sorted(a for u in problem.units.values() if u.oversized for a in u.apps))
    extra = _Extras(consolidation(inputs.servers), _overrides(rules, ctx), sizings, needs, catalog)
    servers = tuple(_sized(_server(s, ctx, shared), s, extra, len(ctx.links.get(s.name, ())), problem)
                    for s in inputs.servers)
    costs = _wave_costs(servers) if catalog else {}
    waves = tuple(_wave(box, ctx).model_copy(update={"monthly_cost": costs.get(box.index)})
                  for box in assignment.waves)
    return Plan(
        id=plan_id, created_at=created_at, input_digest=inputs.digest(), max_wave_servers=max_wave_servers,
        waves=waves,
        oversized=oversized,
        applications=tuple(_application(g, ctx) for g in groups),
        servers=servers,
        dependencies=tuple(PlanDependency(source=e.source, target=e.target, port=e.port, weight=e.weight,
                                          kind=e.kind) for e in inputs.edges),
        cross_wave_weight=round(cross, 6),
        notes=_notes(shared, problem, groups, oversized) + _late_notes(waves),
        external=tuple(ExternalDependency(source=x.source, address=x.address, port=x.port, count=x.count)
                       for x in inputs.external),
        rules=rules,
        currency=catalog.currency if catalog else None,
        monthly_cost=round(sum(costs.values()), 2) if catalog else None,
        monthly_cost_by_month=_by_month(waves) if catalog else (),
    )


class _Extras:
    def __init__(self, consolidate: dict[str, str], overrides: dict[str, tuple[str, str]],
                 sizings: dict[str, Sizing], needs: dict[str, tuple[int, float]], catalog: Catalog | None) -> None:
        self.consolidate, self.overrides, self.sizings, self.needs, self.catalog = (
            consolidate, overrides, sizings, needs, catalog)


def _overrides(rules: PlanRules, ctx: Context) -> dict[str, tuple[str, str]]:
    """Server -> (strategy, which key set it); a server's own key wins over its application's."""
    names = set(ctx.server_app)
    out: dict[str, tuple[str, str]] = {}
    for name, _ in rules.strategy:
        if name not in names and name not in ctx.app_servers:
            raise PlanError(f"[plan.strategy] names {name!r}, which is neither a planned server nor an application",
                            hint="fix the name in pindah.toml (see 'pindah plan show' for the names)")
    for name, kind in rules.strategy:
        for server in ctx.app_servers.get(name, ()):
            out.setdefault(server, (kind, f"application {name}"))
    for name, kind in rules.strategy:
        if name in names:
            out[name] = (kind, f"server {name}")
    return out


def _sized(planned: PlannedServer, server: ServerInput, extra: _Extras, degree: int, problem: Problem
           ) -> PlannedServer:
    kind, evidence = strategy(server, degree, override=extra.overrides.get(server.name),
                              consolidate=extra.consolidate)
    reasons = [*planned.reasons, f"strategy {kind}: {evidence}"]
    zone = zone_of(server, problem.res.zones.values())
    vcpu, memory = extra.needs[server.name]
    update: dict[str, object] = {"strategy": kind, "strategy_reason": evidence, "data_gb": server_data(server),
                                 "zone": zone.name if zone else None, "vcpu": vcpu, "memory_gb": memory}
    sizing = extra.sizings.get(server.name)
    if sizing is not None:
        reasons.append(f"sizing: {sizing.reason}")
        update.update(flavor=sizing.flavor, monthly_cost=sizing.monthly_cost, sizing_confidence=sizing.confidence,
                      sizing_reason=sizing.reason, sizing_method=sizing.method)
    update["reasons"] = tuple(reasons)
    return planned.model_copy(update=update)


def _check_end(ctx: Context) -> None:
    """Every wave ends by [plan] end_date, else the plan is infeasible: say which servers are late and why."""
    end = ctx.problem.res.calendar.end
    if end is None:
        return
    late = [b for b in ctx.assignment.waves if (span := ctx.problem.res.calendar.dates(b.slot)) and span[1] > end]
    if not late:
        return
    units = [ctx.problem.units[u] for b in late for u in sorted(b.members)]
    servers = sorted(s for u in units for a in u.apps for s in ctx.app_servers[a])
    freezes = sorted({text for u in units for text in describe_freezes(u)})
    span = ctx.problem.res.calendar.dates(late[0].slot)
    assert span is not None
    raise InfeasiblePlan(
        f"the plan needs {len(ctx.assignment.waves)} waves, and wave {late[0].index} onwards (from {span[0]}) end "
        f"after end_date {end}: {len(servers)} server(s) would be late ({', '.join(servers[:10])}"
        f"{' ...' if len(servers) > 10 else ''})" + (f"; freezes that held them back: {'; '.join(freezes[:5])}"
                                                     if freezes else ""),
        items=servers, constraints=("end_date", *(("freeze",) if freezes else ()), "max_wave_servers"),
        hint="move end_date later, shorten wave_days or add windows, raise max_wave_servers/zone limits, or shorten "
             "the freezes named")


def _late_notes(waves: tuple[Wave, ...]) -> tuple[str, ...]:
    return tuple(f"wave {w.index}: replication needs {w.replication_hours:g} h but its window has "
                 f"{w.window_hours:g} h (one application alone is larger than its site's link carries in a window): "
                 "raise that site's bandwidth_mbps, lengthen the window, or split the application"
                 for w in waves if w.replication_hours is not None and w.window_hours is not None
                 and w.replication_hours > w.window_hours)


def _by_month(waves: tuple[Wave, ...]) -> tuple[tuple[str, float], ...]:
    """Run-rate per calendar month: the monthly cost of every wave that has ended by that month's end."""
    dated = [(w.end[:7], w.monthly_cost or 0.0) for w in waves if w.end]
    if not dated:
        return ()
    months = sorted({m for m, _ in dated})
    return tuple((m, round(sum(c for month, c in dated if month <= m), 2)) for m in months)


def _wave_costs(servers: tuple[PlannedServer, ...]) -> dict[int, float]:
    costs: dict[int, float] = {}
    for s in servers:
        costs[s.wave] = round(costs.get(s.wave, 0.0) + (s.monthly_cost or 0.0), 2)
    return costs


def _application(group: Group, ctx: Context) -> Application:
    unit = ctx.problem.unit_of_app[group.name]
    return Application(name=group.name, servers=group.servers, wave=ctx.assignment.wave_of[unit],
                       source=group.source, reason=f"{group.why}; {ctx.placement(unit)}")


def _wave(box: WaveBox, ctx: Context) -> Wave:
    apps = tuple(sorted(a for u in box.members for a in ctx.problem.units[u].apps))
    servers = tuple(sorted(s for a in apps for s in ctx.app_servers[a]))
    limit = ctx.problem.rules.max_wave_servers
    units = [ctx.problem.units[u] for u in box.members]
    if any(u.oversized for u in units):
        why = f"oversized application {apps[0]} ({len(servers)} servers / {box.storage:g} GB, limit {limit}) alone"
    elif box.shared:
        why = f"shared services, after all their consumers ({len(servers)}/{box.cap} servers)"
    else:
        kind = (f"pilot wave (only non-production servers of criticality "
                f"{'/'.join(ctx.problem.rules.pilot_criticality)}), " if box.pilot else "")
        why = (f"{kind}{len(apps)} application(s), {len(servers)}/{box.cap} servers, opened by the largest allowed "
               "application, then filled with the applications most linked to it, then with the largest that fit")
    if box.note:
        why += f"; {box.note}"
    return Wave(index=box.index, servers=servers, applications=apps, reason=why, max_servers=box.cap,
                storage_gb=round(box.storage, 6), pilot=box.pilot, **_wave_resources(box, ctx))


def _wave_resources(box: WaveBox, ctx: Context) -> dict[str, object]:
    res = ctx.problem.res
    span, hours = res.calendar.dates(box.slot), res.calendar.hours(box.slot)
    slowest, rows = replication({k: v for k, v in box.site_data.items() if v > 0}, res)
    zones = []
    for (zone, period), row in sorted(ctx.assignment.zone_used.items()):
        if period in (f"wave {box.index}", res.calendar.month(box.slot)) and any(
                zone in ctx.problem.units[u].zone_need for u in box.members):
            z = res.zones[zone]
            zones.append(ZoneUse(zone=zone, period=period, servers=round(row[0]), vcpu=round(row[1]),
                                 memory_gb=round(row[2], 3), max_servers=z.max_servers, max_vcpu=z.max_vcpu,
                                 max_memory_gb=z.max_memory_gb))
    return {"start": span[0].isoformat() if span else None, "end": span[1].isoformat() if span else None,
            "window_hours": hours, "data_gb": round(sum(box.site_data.values()), 3), "replication_hours": slowest,
            "replication_by_site": tuple(SiteReplication(site=s, data_gb=g, mbps=m, hours=h) for s, g, m, h in rows),
            "zone_use": tuple(zones)}


def _server(server: ServerInput, ctx: Context, shared: dict[str, str]) -> PlannedServer:
    app = ctx.server_app[server.name]
    unit = ctx.problem.unit_of_app[app]
    role = SHARED_ROLE if server.name in shared else server.role
    group = ctx.groups[app]
    return PlannedServer(
        name=server.name, address=server.address, application=app, wave=ctx.wave_of_server(server.name),
        environment=server.environment, site=server.site, role=role, disk_gb=server.disk_gb,
        reason=f"in application {app}: {group.why}; {ctx.placement(unit)}{_origin(server)}",
        reasons=server_reasons(server, ctx) + ((f"origin:{_origin(server)}",) if _origin(server) else ()))


def _origin(server: ServerInput) -> str:
    seen = [w for w, flag in (("discovered", server.discovered), ("imported", server.imported)) if flag]
    unreachable = " (unreachable at last discovery)" if server.reachable is False else ""
    return f" [{' and '.join(seen)}{unreachable}]" if seen else ""


def _notes(shared: dict[str, str], problem: Problem, groups: list[Group], oversized: tuple[str, ...]
           ) -> tuple[str, ...]:
    rules = problem.rules
    notes = [f"wave size limit: {rules.max_wave_servers} servers (an application larger than that gets a wave of "
             "its own)"]
    if rules.max_wave_storage_gb is not None:
        notes.append(f"wave storage limit: {rules.max_wave_storage_gb:g} GB")
    if problem.pilot:
        notes.append(f"wave 1 is a pilot of at most {min(rules.pilot_servers, rules.max_wave_servers)} servers, "
                     f"only non-production servers of criticality {'/'.join(rules.pilot_criticality)}")
    elif rules.pilot_servers:
        notes.append("no pilot wave: no application with only non-production servers of criticality "
                     f"{'/'.join(rules.pilot_criticality)} fits {rules.pilot_servers} servers and can move first")
    if rules.ramp:
        notes.append(f"ramp: the waves after the pilot hold at most {', '.join(map(str, rules.ramp))} servers, "
                     f"then {rules.max_wave_servers}")
    if rules.hard_ports:
        notes.append("hard dependencies (ports " + ", ".join(map(str, rules.hard_ports)) + "): a provider moves in "
                     "the same or an earlier wave than its consumer (shared services excepted: they move last)")
    if rules.separate_environments:
        notes.append("production and non-production servers never share a wave")
    if shared:
        notes.append(SHARED_POLICY)
    if oversized:
        notes.append(f"oversized applications (own wave each): {', '.join(oversized)}")
    inferred = [g.name for g in groups if g.source == "inferred" and g.name in oversized]
    if inferred:
        notes.append(f"review: inferred application(s) {', '.join(inferred)} exceed the wave limit; a large "
                     "connected component is often glued together by a hub that is not marked as a shared "
                     "service: import the real applications or set role shared-service on the hub")
    return tuple(notes)
