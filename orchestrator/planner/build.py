"""The first-cut planner: inputs in, Plan out. Pure and deterministic (created_at is passed in)."""

from __future__ import annotations

from orchestrator.errors import PlanError
from orchestrator.plan import (
    Application,
    ExternalDependency,
    Plan,
    PlanDependency,
    PlannedServer,
    Wave,
    validate_plan_id,
)
from orchestrator.planner.grouping import Group, dependency_graph, group_servers, shared_services
from orchestrator.planner.inputs import SHARED_ROLE, PlannerInputs, ServerInput
from orchestrator.planner.waves import SHARED_POLICY, Schedule, app_weights, schedule


def build_plan(inputs: PlannerInputs, *, plan_id: str, max_wave_servers: int, created_at: str) -> Plan:
    """Group servers into applications and applications into waves; every decision carries a reason."""
    validate_plan_id(plan_id)
    if max_wave_servers < 1:
        raise PlanError(f"max wave size must be at least 1, got {max_wave_servers}",
                        hint="pass --max-wave-servers N with N >= 1 or fix [plan] max_wave_servers")
    if not inputs.servers:
        raise PlanError("there are no servers to plan",
                        hint="run 'pindah discover' or 'pindah import servers FILE' first")
    graph = dependency_graph(inputs)
    shared = shared_services(inputs, graph)
    groups = group_servers(inputs, graph, shared)
    weights = app_weights(groups, graph)
    sched = schedule(groups, weights, max_wave_servers)
    wave_of = {server: sched.placements[g.name].wave for g in groups for server in g.servers}
    cross = sum(e.weight for e in inputs.edges if wave_of[e.source] != wave_of[e.target])
    return Plan(
        id=plan_id,
        created_at=created_at,
        input_digest=inputs.digest(),
        max_wave_servers=max_wave_servers,
        waves=_waves(groups, sched, max_wave_servers),
        oversized=sched.oversized,
        applications=tuple(_application(g, sched) for g in groups),
        servers=_servers(inputs, groups, sched, shared),
        dependencies=tuple(PlanDependency(source=e.source, target=e.target, port=e.port, weight=e.weight,
                                          kind=e.kind) for e in inputs.edges),
        cross_wave_weight=round(cross, 6),
        notes=_notes(shared, sched, max_wave_servers, groups),
        external=tuple(ExternalDependency(source=x.source, address=x.address, port=x.port, count=x.count)
                       for x in inputs.external),
    )


def _application(group: Group, sched: Schedule) -> Application:
    placement = sched.placements[group.name]
    return Application(name=group.name, servers=group.servers, wave=placement.wave, source=group.source,
                       reason=f"{group.why}; {placement.why}")


def _waves(groups: list[Group], sched: Schedule, max_wave: int) -> tuple[Wave, ...]:
    by_name = {g.name: g for g in groups}
    out: list[Wave] = []
    for index, apps in enumerate(sched.waves, start=1):
        servers = tuple(sorted(s for a in apps for s in by_name[a].servers))
        kinds = {by_name[a].source for a in apps}
        if any(a in sched.oversized for a in apps):
            why = f"oversized application {apps[0]} ({len(servers)} servers > limit {max_wave}) alone"
        elif kinds == {"shared"}:
            why = f"shared services, after all their consumers ({len(servers)}/{max_wave} servers)"
        else:
            why = (f"{len(apps)} application(s), {len(servers)}/{max_wave} servers, "
                   "opened by the largest unplaced application, then filled with the applications most linked to "
                   "it, then with the largest that fit")
        out.append(Wave(index=index, servers=servers, applications=apps, reason=why))
    return tuple(out)


def _servers(inputs: PlannerInputs, groups: list[Group], sched: Schedule,
             shared: dict[str, str]) -> tuple[PlannedServer, ...]:
    owner = {server: g for g in groups for server in g.servers}
    out: list[PlannedServer] = []
    for server in inputs.servers:
        group = owner[server.name]
        placement = sched.placements[group.name]
        role = SHARED_ROLE if server.name in shared else server.role
        out.append(PlannedServer(
            name=server.name, address=server.address, application=group.name, wave=placement.wave,
            environment=server.environment, site=server.site, role=role, disk_gb=server.disk_gb,
            reason=f"in application {group.name}: {group.why}; {placement.why}{_origin(server)}"))
    return tuple(out)


def _origin(server: ServerInput) -> str:
    seen = [w for w, flag in (("discovered", server.discovered), ("imported", server.imported)) if flag]
    unreachable = " (unreachable at last discovery)" if server.reachable is False else ""
    return f" [{' and '.join(seen)}{unreachable}]" if seen else ""


def _notes(shared: dict[str, str], sched: Schedule, max_wave: int, groups: list[Group]) -> tuple[str, ...]:
    notes = [f"wave size limit: {max_wave} servers (an application larger than that gets a wave of its own)"]
    if shared:
        notes.append(SHARED_POLICY)
    if sched.oversized:
        notes.append(f"oversized applications (own wave each): {', '.join(sched.oversized)}")
    inferred = [g.name for g in groups if g.source == "inferred" and g.name in sched.oversized]
    if inferred:
        notes.append(f"review: inferred application(s) {', '.join(inferred)} exceed the wave limit; a large "
                     "connected component is often glued together by a hub that is not marked as a shared "
                     "service: import the real applications or set role shared-service on the hub")
    return tuple(notes)
