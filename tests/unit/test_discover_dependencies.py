"""Dependency edges between probed hosts and external endpoints, from their connections (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from discovery import dependencies
from discovery.facts import Connection, HostFacts, Interface, Listener, ObservedConnection

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


def _observed(direction: str, local: tuple[str, int], remote: tuple[str, int], process: str | None,
              count: int, first: datetime = T0, last: datetime = T1) -> ObservedConnection:
    return ObservedConnection(direction=direction, local_address=local[0], local_port=local[1],  # type: ignore[arg-type]
                              remote_address=remote[0], remote_port=remote[1], process=process,
                              observations=count, first_seen=first, last_seen=last)


def test_edges_both_sides_processes_and_external() -> None:
    web = HostFacts(name="web", address="10.0.0.1", reachable=True, samples=3, observed_connections=(
        _observed("outbound", ("10.0.0.1", 40001), ("10.0.0.2", 5432), "nginx", 3),
        _observed("outbound", ("10.0.0.1", 40002), ("203.0.113.7", 443), "nginx", 1, T1, T1),
        _observed("outbound", ("127.0.0.1", 40003), ("127.0.0.1", 6379), "nginx", 3),
        _observed("inbound", ("10.0.0.1", 80), ("198.51.100.4", 50000), "nginx", 2)))
    db = HostFacts(name="db", address="db.example", reachable=True, samples=3,
                   interfaces=(Interface(name="eth0", addresses=("10.0.0.2/24",)),),
                   listening=(Listener(port=5432, address="0.0.0.0", process="postgres"),),
                   observed_connections=(
                       _observed("inbound", ("10.0.0.2", 5432), ("10.0.0.1", 40001), "postgres", 2, T0, T0),
                       _observed("inbound", ("10.0.0.2", 5432), ("10.0.0.3", 41000), "postgres", 2)))
    batch = HostFacts(name="batch", address="10.0.0.3", reachable=False)
    found = dependencies.build([web, db, batch])
    assert [(e.source, e.target, e.port, e.source_process, e.target_process, e.observations) for e in found.edges] \
        == [("batch", "db", 5432, None, "postgres", 2), ("web", "db", 5432, "nginx", "postgres", 3)]
    assert [(x.host, x.direction, x.address, x.port) for x in found.external] == [
        ("web", "inbound", "198.51.100.4", 80), ("web", "outbound", "203.0.113.7", 443)]
    web_db = found.edges[1]
    assert (web_db.first_seen, web_db.last_seen) == (T0, T1)


def test_one_shot_connections_count_once() -> None:
    at = datetime(2026, 2, 2, tzinfo=UTC)
    app = HostFacts(name="app", address="10.0.0.5", reachable=True, collected_at=at, connections=(
        Connection(local_address="10.0.0.5", local_port=50000, remote_address="10.0.0.6", remote_port=6379,
                   process="java", direction="outbound"),))
    cache = HostFacts(name="cache", address="10.0.0.6", reachable=True,
                      listening=(Listener(port=6379, address="0.0.0.0", process="redis-server"),))
    (edge,) = dependencies.build([app, cache]).edges
    assert (edge.source, edge.target, edge.port, edge.source_process, edge.target_process) == \
        ("app", "cache", 6379, "java", "redis-server")
    assert edge.observations == 1 and edge.first_seen == edge.last_seen == at


def test_tcp_and_udp_to_the_same_port_are_different_edges() -> None:
    at = datetime(2026, 2, 2, tzinfo=UTC)

    def conn(port: int, remote: str, protocol: str) -> Connection:
        return Connection(local_address="10.0.0.5", local_port=port, remote_address=remote, remote_port=53,
                          process="sssd", direction="outbound", protocol=protocol)  # type: ignore[arg-type]

    client = HostFacts(name="app", address="10.0.0.5", reachable=True, collected_at=at, connections=(
        conn(40000, "10.0.0.53", "udp"), conn(40001, "10.0.0.53", "tcp"), conn(40002, "10.0.0.53", "udp"),
        conn(40003, "192.0.2.1", "udp")))
    dns = HostFacts(name="dns", address="10.0.0.53", reachable=True, listening=(
        Listener(port=53, protocol="udp", address="0.0.0.0", process="named-udp"),
        Listener(port=53, protocol="tcp", address="0.0.0.0", process="named")))
    found = dependencies.build([client, dns])
    assert [(e.source, e.target, e.port, e.protocol, e.target_process) for e in found.edges] == [
        ("app", "dns", 53, "tcp", "named"), ("app", "dns", 53, "udp", "named-udp")]
    assert [(x.address, x.port, x.protocol) for x in found.external] == [("192.0.2.1", 53, "udp")]
