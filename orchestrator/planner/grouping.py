"""Group servers into applications: imported applications, shared services, connected components."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx

from orchestrator.errors import PlanError
from orchestrator.plan import GroupSplit
from orchestrator.planner.inputs import SHARED_ROLE, PlannerInputs, ServerInput

FAN_IN_MIN = 5
FAN_IN_SHARE = 0.2


@dataclass(frozen=True)
class Group:
    """One application as the planner sees it."""

    name: str
    servers: tuple[str, ...]
    source: str  # "imported" | "inferred" | "shared" | "split"
    why: str


def dependency_graph(inputs: PlannerInputs) -> nx.DiGraph[str]:
    """Servers as nodes; one edge consumer -> provider with the summed weight of all its ports/kinds."""
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(s.name for s in inputs.servers)
    for edge in inputs.edges:
        if graph.has_edge(edge.source, edge.target):
            graph[edge.source][edge.target]["weight"] += edge.weight
        else:
            graph.add_edge(edge.source, edge.target, weight=edge.weight)
    return graph


def _unit(server: ServerInput) -> str:
    return f"app:{server.application}" if server.application else f"server:{server.name}"


def shared_services(inputs: PlannerInputs, graph: nx.DiGraph[str]) -> dict[str, str]:
    """Shared-service servers and why: declared role, or fan-in from many distinct applications/servers."""
    by_name = {s.name: s for s in inputs.servers}
    units = {_unit(s) for s in inputs.servers}
    shared: dict[str, str] = {}
    for server in inputs.servers:
        if server.role == SHARED_ROLE:
            shared[server.name] = "shared service: role shared-service (imported)"
            continue
        if server.application:
            continue  # a declared application is the user's word
        consumers = {_unit(by_name[c]) for c in graph.predecessors(server.name)} - {_unit(server)}
        threshold = max(FAN_IN_MIN, FAN_IN_SHARE * (len(units) - 1))
        if len(consumers) >= threshold:
            shared[server.name] = (f"shared service: detected by fan-in, {len(consumers)} distinct "
                                   f"applications/servers depend on it (threshold {threshold:g}: "
                                   f">= {FAN_IN_MIN} and >= {FAN_IN_SHARE:.0%} of {len(units) - 1})")
    return shared


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    taken.add(candidate)
    return candidate


def group_servers(inputs: PlannerInputs, graph: nx.DiGraph[str], shared: dict[str, str]) -> list[Group]:
    """Every server in exactly one group, sorted by group name."""
    groups: list[Group] = []
    taken: set[str] = set()
    imported: dict[str, list[str]] = defaultdict(list)
    loose: list[str] = []
    for server in inputs.servers:
        if server.name in shared:
            continue
        if server.application:
            imported[server.application].append(server.name)
        else:
            loose.append(server.name)
    for app in sorted(imported):
        members = tuple(sorted(imported[app]))
        groups.append(Group(_unique(app, taken), members, "imported",
                            f"application {app} (imported) with {len(members)} server(s)"))
    for name in sorted(shared):
        groups.append(Group(_unique(f"shared-{name}", taken), (name,), "shared", shared[name]))
    groups.extend(_components(graph.subgraph(loose).to_undirected(as_view=True), taken))
    return sorted(groups, key=lambda g: g.name)


def apply_splits(groups: list[Group], splits: tuple[GroupSplit, ...]) -> list[Group]:
    """Take each [plan.split] part out of its application into a move group of its own."""
    by_name = {g.name: g for g in groups}
    for split in splits:
        group = by_name.get(split.application)
        if group is None:
            raise PlanError(f"[plan.split] names application {split.application!r}, which this plan does not have",
                            hint="use an application name as 'pindah plan show' lists it")
        strangers = sorted(set(split.servers) - set(group.servers))
        if strangers:
            raise PlanError(f"[plan.split.{split.application}] {split.name}: {', '.join(strangers)} are not in "
                            f"{split.application}", hint=f"its servers are {', '.join(group.servers)}")
        rest = tuple(s for s in group.servers if s not in split.servers)
        if not rest or split.name in by_name:
            raise PlanError(f"[plan.split.{split.application}] {split.name}: " + (
                "the part takes every server of the application" if not rest else "that name is taken"),
                hint="leave at least one server in the application and give the part a new name")
        by_name[split.application] = Group(group.name, rest, group.source,
                                           f"{group.why}; split: {', '.join(split.servers)} taken out into "
                                           f"{split.name} by [plan.split]")
        by_name[split.name] = Group(split.name, split.servers, "split",
                                    f"move group {split.name}: {', '.join(split.servers)} split from application "
                                    f"{split.application} by [plan.split]")
    return sorted(by_name.values(), key=lambda g: g.name)


def _components(graph: nx.Graph[str], taken: set[str]) -> list[Group]:
    out: list[Group] = []
    components = sorted((tuple(sorted(c)) for c in nx.connected_components(graph)), key=lambda c: c[0])
    for members in components:
        if len(members) == 1:
            name = _unique(members[0], taken)
            out.append(Group(name, members, "inferred",
                             f"application {name} (inferred): {members[0]} has no dependencies with "
                             "unassigned servers, so it is its own application"))
            continue
        hub = max(members, key=lambda n: (graph.degree(n, weight="weight"), _neg(n)))
        name = _unique(f"app-{hub}", taken)
        out.append(Group(name, members, "inferred",
                         f"application {name} (inferred): a connected component of {len(members)} servers "
                         f"linked by dependencies, named after its busiest server {hub}"))
    return out


def _neg(name: str) -> tuple[int, ...]:
    """Sort key that prefers the alphabetically first name under max()."""
    return (*(-ord(ch) for ch in name), 1)
