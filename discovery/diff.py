"""What changed between two discoveries: hosts appeared or gone, packages, services, listening ports and
dependencies. Pure: ``diff(before, after)`` over two snapshots' HostFacts."""

from __future__ import annotations

from collections.abc import Sequence

from discovery import dependencies
from discovery.facts import Frozen, HostFacts


class Change(Frozen):
    name: str
    before: str
    after: str


class HostDiff(Frozen):
    name: str
    packages_added: tuple[str, ...] = ()  # "name version"
    packages_removed: tuple[str, ...] = ()
    packages_changed: tuple[Change, ...] = ()
    services_added: tuple[str, ...] = ()
    services_removed: tuple[str, ...] = ()
    services_changed: tuple[Change, ...] = ()  # "running, enabled" → "stopped, enabled"
    ports_opened: tuple[str, ...] = ()  # "tcp/5432 postgres"
    ports_closed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(getattr(self, field) for field in type(self).model_fields if field != "name")


class SnapshotDiff(Frozen):
    appeared: tuple[str, ...] = ()
    gone: tuple[str, ...] = ()
    now_unreachable: tuple[str, ...] = ()
    now_reachable: tuple[str, ...] = ()
    hosts: tuple[HostDiff, ...] = ()  # only hosts with changes, reachable in both snapshots
    dependencies_new: tuple[str, ...] = ()  # "web → db:5432"
    dependencies_gone: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(getattr(self, field) for field in type(self).model_fields)


def diff(before: Sequence[HostFacts], after: Sequence[HostFacts]) -> SnapshotDiff:
    old, new = {f.name: f for f in before}, {f.name: f for f in after}
    both = sorted(set(old) & set(new))
    hosts = [host_diff(old[n], new[n]) for n in both if old[n].reachable and new[n].reachable]
    old_edges, new_edges = _edges(before), _edges(after)
    return SnapshotDiff(
        appeared=tuple(sorted(set(new) - set(old))), gone=tuple(sorted(set(old) - set(new))),
        now_unreachable=tuple(n for n in both if old[n].reachable and not new[n].reachable),
        now_reachable=tuple(n for n in both if not old[n].reachable and new[n].reachable),
        hosts=tuple(h for h in hosts if not h.empty),
        dependencies_new=tuple(sorted(new_edges - old_edges)), dependencies_gone=tuple(sorted(old_edges - new_edges)))


def host_diff(before: HostFacts, after: HostFacts) -> HostDiff:
    """Packages by (name, arch), services by name, listeners by (protocol, port, process)."""
    old_pkgs = {(p.name, p.arch): p.version for p in before.packages}
    new_pkgs = {(p.name, p.arch): p.version for p in after.packages}
    old_svc = {s.name: _service_state(s.active, s.enabled) for s in before.services}
    new_svc = {s.name: _service_state(s.active, s.enabled) for s in after.services}
    old_ports = {f"{x.protocol}/{x.port} {x.process or '?'}" for x in before.listening}
    new_ports = {f"{x.protocol}/{x.port} {x.process or '?'}" for x in after.listening}
    return HostDiff(
        name=after.name,
        packages_added=tuple(sorted(f"{k[0]} {new_pkgs[k]}" for k in new_pkgs.keys() - old_pkgs.keys())),
        packages_removed=tuple(sorted(f"{k[0]} {old_pkgs[k]}" for k in old_pkgs.keys() - new_pkgs.keys())),
        packages_changed=tuple(Change(name=k[0], before=old_pkgs[k], after=new_pkgs[k])
                               for k in sorted(old_pkgs.keys() & new_pkgs.keys()) if old_pkgs[k] != new_pkgs[k]),
        services_added=tuple(sorted(new_svc.keys() - old_svc.keys())),
        services_removed=tuple(sorted(old_svc.keys() - new_svc.keys())),
        services_changed=tuple(Change(name=k, before=old_svc[k], after=new_svc[k])
                               for k in sorted(old_svc.keys() & new_svc.keys()) if old_svc[k] != new_svc[k]),
        ports_opened=tuple(sorted(new_ports - old_ports)), ports_closed=tuple(sorted(old_ports - new_ports)))


def _service_state(active: bool | None, enabled: bool | None) -> str:
    run = {True: "running", False: "stopped", None: "run state unknown"}[active]
    boot = {True: "enabled", False: "disabled", None: "boot state unknown"}[enabled]
    return f"{run}, {boot}"


def _edges(facts: Sequence[HostFacts]) -> set[str]:
    return {f"{e.source} → {e.target}:{e.port}{'/udp' if e.protocol == 'udp' else ''}"
            for e in dependencies.build(facts).edges}
