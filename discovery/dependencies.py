"""Dependency edges between probed hosts, and endpoints outside them, from the hosts' connections. Pure.

An edge ``source → target:port`` comes from the source's outbound connection or the target's inbound one
(whichever sides were probed), per protocol: TCP and UDP to the same port are different edges (a connected
UDP socket's peer is the target; a UDP server's replies come from an unconnected socket, so UDP edges
are usually seen from the client's side only). Observations are the larger of the two sides' counts, first/last seen the
widest window. Connections to or from addresses that belong to no probed host are external endpoints.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from discovery.facts import Connection, Frozen, Interface, Listener, ObservedConnection


class LinkSource(Protocol):
    """What edges are built from: a HostFacts, or a summary that kept these fields of one."""

    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def interfaces(self) -> tuple[Interface, ...]: ...
    @property
    def listening(self) -> tuple[Listener, ...]: ...
    @property
    def connections(self) -> tuple[Connection, ...]: ...
    @property
    def observed_connections(self) -> tuple[ObservedConnection, ...]: ...
    @property
    def samples(self) -> int: ...
    @property
    def collected_at(self) -> datetime | None: ...


class DependencyEdge(Frozen):
    source: str
    target: str
    port: int
    protocol: Literal["tcp", "udp"] = "tcp"
    source_process: str | None = None
    target_process: str | None = None
    observations: int = 1
    first_seen: datetime
    last_seen: datetime


class ExternalEndpoint(Frozen):
    host: str
    direction: str  # outbound: host → address:port; inbound: address → host:port
    address: str
    port: int
    protocol: Literal["tcp", "udp"] = "tcp"
    process: str | None = None
    observations: int = 1
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class Dependencies:
    edges: tuple[DependencyEdge, ...]
    external: tuple[ExternalEndpoint, ...]


def observations(facts: LinkSource) -> tuple[ObservedConnection, ...]:
    """The host's sampled connections, or its one-shot connections as single observations."""
    if facts.samples and facts.observed_connections:
        return facts.observed_connections
    at = facts.collected_at or datetime.fromtimestamp(0, UTC)
    return tuple(ObservedConnection(direction=c.direction, local_address=c.local_address, local_port=c.local_port,
                                    remote_address=c.remote_address, remote_port=c.remote_port, process=c.process,
                                    protocol=c.protocol, first_seen=at, last_seen=at) for c in facts.connections)


def owners(hosts: Iterable[LinkSource]) -> dict[str, str]:
    """address → host name: inventory addresses first, then the hosts' own non-loopback interface addresses."""
    found: dict[str, str] = {}
    hosts = list(hosts)
    for host in hosts:
        for iface in host.interfaces:
            for cidr in iface.addresses:
                address = cidr.split("/")[0]
                if not _local_only(address):
                    found.setdefault(address, host.name)
    found.update({h.address: h.name for h in hosts})
    return found


def _local_only(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return parsed.is_loopback or parsed.is_link_local or parsed.is_unspecified


def build(hosts: Sequence[LinkSource]) -> Dependencies:
    owner = owners(hosts)  # unreachable hosts still own their inventory address
    listeners: dict[str, set[tuple[str, int, str | None]]] = {
        h.name: {(lst.protocol, lst.port, lst.process) for lst in h.listening} for h in hosts}
    edges: dict[tuple[str, str, int, str], DependencyEdge] = {}
    external: dict[tuple[str, str, str, int, str, str], ExternalEndpoint] = {}
    for host in hosts:
        for conn in observations(host):
            if _local_only(conn.remote_address):
                continue
            peer = owner.get(conn.remote_address)
            if peer is None or peer == host.name:
                if peer is None:
                    _add_external(external, host.name, conn)
                continue
            if conn.direction == "outbound":
                key = (host.name, peer, conn.remote_port, conn.protocol)
                edge = _edge(key, conn, source_process=conn.process,
                             target_process=_process_on(listeners.get(peer, set()), conn.protocol,
                                                        conn.remote_port))
            else:
                key = (peer, host.name, conn.local_port, conn.protocol)
                edge = _edge(key, conn, source_process=None, target_process=conn.process)
            edges[key] = _merge(edges.get(key), edge)
    return Dependencies(tuple(sorted(edges.values(), key=lambda e: (e.source, e.target, e.port, e.protocol))),
                        tuple(sorted(external.values(),
                                     key=lambda e: (e.host, e.direction, e.address, e.port, e.protocol))))


def _process_on(listening: set[tuple[str, int, str | None]], protocol: str, port: int) -> str | None:
    return next((process for proto, p, process in sorted(listening, key=str)
                 if proto == protocol and p == port and process), None)


def _edge(key: tuple[str, str, int, str], conn: ObservedConnection, *, source_process: str | None,
          target_process: str | None) -> DependencyEdge:
    return DependencyEdge(source=key[0], target=key[1], port=key[2], protocol=conn.protocol,
                          source_process=source_process,
                          target_process=target_process, observations=conn.observations,
                          first_seen=conn.first_seen, last_seen=conn.last_seen)


def _merge(old: DependencyEdge | None, new: DependencyEdge) -> DependencyEdge:
    if old is None:
        return new
    return DependencyEdge(source=new.source, target=new.target, port=new.port, protocol=new.protocol,
                          source_process=old.source_process or new.source_process,
                          target_process=old.target_process or new.target_process,
                          observations=max(old.observations, new.observations),
                          first_seen=min(old.first_seen, new.first_seen), last_seen=max(old.last_seen, new.last_seen))


def _add_external(found: dict[tuple[str, str, str, int, str, str], ExternalEndpoint], host: str,
                  conn: ObservedConnection) -> None:
    port = conn.remote_port if conn.direction == "outbound" else conn.local_port
    key = (host, conn.direction, conn.remote_address, port, conn.protocol, conn.process or "")
    old = found.get(key)
    found[key] = ExternalEndpoint(
        host=host, direction=conn.direction, address=conn.remote_address, port=port, protocol=conn.protocol,
        process=conn.process,
        observations=max(conn.observations, old.observations if old else 0),
        first_seen=min(conn.first_seen, old.first_seen) if old else conn.first_seen,
        last_seen=max(conn.last_seen, old.last_seen) if old else conn.last_seen)
