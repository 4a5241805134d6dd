"""What the planner plans from: servers and dependency edges. Pure, frozen, with a stable digest.

Servers are the union of discovered hosts and imported servers; edges are observed (outbound
connections from one known server to another's address) plus declared (imported).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from discovery.facts import HostFacts
from orchestrator.importers import ImportedServer

SHARED_ROLE = "shared-service"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerInput(ImportedServer):
    """A declared server's fields (see the CSV import) plus where the planner learnt of it and what discovery
    measured for sizing, replication and strategy (empty/None when unknown)."""

    discovered: bool = False
    imported: bool = False
    reachable: bool | None = None
    data_gb: float | None = None  # data to replicate: used space of its filesystems (disk_gb when unknown)
    cpu_util: tuple[float, ...] = ()  # CPU busy % per sampled interval
    memory_util: tuple[float, ...] = ()  # memory used % per sampled interval
    software: tuple[str, ...] = ()  # recognised middleware, "kind major-version" (e.g. "postgres 15")
    ports: tuple[int, ...] = ()  # listening TCP ports
    os_eol: bool | None = None  # the OS release is past its end of support (discovery's EOL table)


class EdgeInput(Frozen):
    source: str  # consumer
    target: str  # provider
    port: int
    weight: float
    kind: Literal["observed", "declared"]


class ExternalConnection(Frozen):
    source: str
    address: str
    port: int
    count: int


class PlannerInputs(Frozen):
    servers: tuple[ServerInput, ...]
    edges: tuple[EdgeInput, ...]
    external: tuple[ExternalConnection, ...] = ()

    def digest(self) -> str:
        """sha256 of a canonical JSON of the inputs: the same inputs give the same digest."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def make_inputs(servers: Iterable[ServerInput], edges: Iterable[EdgeInput],
                external: Iterable[ExternalConnection] = ()) -> PlannerInputs:
    """Canonical (sorted) inputs, so the order things were found in never changes the plan."""
    return PlannerInputs(
        servers=tuple(sorted(servers, key=lambda s: s.name)),
        edges=tuple(sorted(edges, key=lambda e: (e.source, e.target, e.port, e.kind))),
        external=tuple(sorted(external, key=lambda x: (x.source, x.address, x.port))),
    )


PSEUDO_FS = frozenset({"tmpfs", "devtmpfs", "overlay", "squashfs", "proc", "sysfs", "devpts", "cgroup",
                       "cgroup2", "nsfs", "ramfs", "autofs", "fuse.lxcfs", "efivarfs", "iso9660"})


def data_gb(facts: HostFacts) -> float | None:
    """Used space of the host's real filesystems (each device once), in GB; None when df gave nothing."""
    used: dict[str, int] = {}
    for mount in facts.mounts:
        if mount.fstype not in PSEUDO_FS and not mount.device.startswith(("tmpfs", "none", "overlay")):
            used[mount.device] = max(used.get(mount.device, 0), mount.used_mb)
    return round(sum(used.values()) / 1024, 2) if used else None


def _utilisation(facts: HostFacts) -> dict[str, Any]:
    intervals = facts.utilisation.intervals if facts.utilisation else ()
    return {"cpu_util": tuple(round(i.cpu_percent, 2) for i in intervals if i.cpu_percent is not None),
            "memory_util": tuple(round(i.memory_used_percent, 2) for i in intervals
                                 if i.memory_used_percent is not None)}


def _software(facts: HostFacts) -> tuple[str, ...]:
    out = set()
    for item in facts.middleware:
        major = (item.version or "").split(".")[0]
        out.add(f"{item.kind} {major}".strip())
    return tuple(sorted(out))


def _from_facts(facts: HostFacts) -> dict[str, Any]:
    disk = round(sum(d.size_gb for d in facts.disks), 2) if facts.disks else None
    eol = facts.eol.status if facts.eol else "unknown"
    return {
        "address": facts.address,
        "os": facts.os.pretty_name or f"{facts.os.name} {facts.os.version_id}".strip() if facts.os else None,
        "cpu_count": facts.cpu.count if facts.cpu else None,
        "memory_mb": facts.memory_mb,
        "disk_gb": disk,
        "data_gb": data_gb(facts),
        **_utilisation(facts),
        "software": _software(facts),
        "ports": tuple(sorted({x.port for x in facts.listening if x.protocol == "tcp"})),
        "os_eol": {"eol": True, "supported": False}.get(eol),
    }


def merge_servers(facts: Iterable[HostFacts], imported: Mapping[str, Mapping[str, Any]]) -> list[ServerInput]:
    """Discovered facts win for what a probe measures (os, cpu, memory, disk, address);
    imported data wins for what only people know (application, environment, role, ...)."""
    by_name = {f.name: f for f in facts}
    fields = set(ServerInput.model_fields) - {"name", "discovered", "imported", "reachable"}
    out: list[ServerInput] = []
    for name in sorted(set(by_name) | set(imported)):
        values: dict[str, Any] = {k: v for k, v in imported.get(name, {}).items() if k in fields}
        host = by_name.get(name)
        if host is not None:
            values.update({k: v for k, v in _from_facts(host).items() if v is not None and v != ()})
        out.append(ServerInput(name=name, discovered=host is not None, imported=name in imported,
                               reachable=host.reachable if host is not None else None, **values))
    return out


def observed_edges(facts: Iterable[HostFacts], servers: Iterable[ServerInput]
                   ) -> tuple[list[EdgeInput], list[ExternalConnection]]:
    """Edges consumer -> provider from each host's outbound connections, weight = connection count."""
    by_address: dict[str, str] = {}
    for server in sorted(servers, key=lambda s: s.name):
        if server.address:
            by_address.setdefault(server.address, server.name)
    edges: Counter[tuple[str, str, int]] = Counter()
    external: Counter[tuple[str, str, int]] = Counter()
    for host in facts:
        for conn in host.connections:
            if conn.direction != "outbound":
                continue
            target = by_address.get(conn.remote_address)
            if target is None:
                external[(host.name, conn.remote_address, conn.remote_port)] += 1
            elif target != host.name:
                edges[(host.name, target, conn.remote_port)] += 1
    return ([EdgeInput(source=s, target=t, port=p, weight=float(n), kind="observed")
             for (s, t, p), n in edges.items()],
            [ExternalConnection(source=s, address=a, port=p, count=n) for (s, a, p), n in external.items()])


def build_inputs(facts: Iterable[HostFacts], imported: Mapping[str, Mapping[str, Any]],
                 declared: Iterable[tuple[str, str, int, float]]) -> PlannerInputs:
    """Planner inputs from the store's three sources (latest facts, imported servers and dependencies)."""
    facts = list(facts)
    servers = merge_servers(facts, imported)
    observed, external = observed_edges(facts, servers)
    known = {s.name for s in servers}
    declared_edges = [EdgeInput(source=s, target=t, port=p, weight=w, kind="declared")
                      for s, t, p, w in declared if s in known and t in known and s != t]
    return make_inputs(servers, observed + declared_edges, external)
