"""Discovery of the lab estate: every host's facts must match the lab manifest's ground truth."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from discovery.facts import HostFacts
from orchestrator.cli import app
from orchestrator.discover import DiscoveryResult, discover
from orchestrator.store import Store

pytestmark = pytest.mark.integration

EXPORT_KEYS = {"name", "address", "reachable", "hostname", "os", "cpu", "memory_mb", "disks", "listening",
               "connections", "errors"}


@dataclass(frozen=True)
class Discovered:
    lab: Any
    result: DiscoveryResult
    seconds: float

    def facts(self, name: str) -> HostFacts:
        return next(f for f in self.result.facts if f.name == name)


def _missing_connections(lab: Any, result: DiscoveryResult) -> list[tuple[str, str, int]]:
    address_of = {h.name: h.address for h in lab.manifest.hosts}
    missing = []
    for host in lab.manifest.hosts:
        facts = next(f for f in result.facts if f.name == host.name)
        seen = {(c.remote_address, c.remote_port, c.protocol) for c in facts.connections}
        missing += [(host.name, e.target, e.port) for e in host.connections
                    if (address_of[e.target], e.port, e.protocol) not in seen]
    return missing


@pytest.fixture(scope="module")
def discovered(lab: Any) -> Iterator[Discovered]:
    # The lab's clients reconnect with backoff, so right after 'lab up' a peer link may not exist yet:
    # discover again (a few times) until every expected link is up; assertions use the last run.
    for attempt in range(6):
        started = time.monotonic()
        result = discover(lab.workspace, Path(lab.manifest.paths.inventory), forks=10, timeout=10)
        seconds = time.monotonic() - started
        missing = _missing_connections(lab, result)
        print(f"\ndiscovered {len(result.facts)} lab hosts in {seconds:.2f}s (attempt {attempt + 1}, "
              f"{len(missing)} expected links not yet up)")
        if not missing:
            break
        time.sleep(2)
    yield Discovered(lab, result, seconds)


def _hosts(lab: Any) -> list[str]:
    return [h.name for h in lab.manifest.hosts]


def test_every_lab_host_reachable_and_stored(discovered: Discovered, lab: Any) -> None:
    assert [f.name for f in discovered.result.failed] == []
    assert sorted(f.name for f in discovered.result.facts) == sorted(_hosts(lab))
    with Store.open(lab.workspace.db_path) as store:
        assert len(store.snapshot_facts(discovered.result.snapshot_id)) == len(lab.manifest.hosts)


def test_system_facts_match_manifest(discovered: Discovered, lab: Any) -> None:
    for host in lab.manifest.hosts:
        facts = discovered.facts(host.name)
        expected_errors = [] if host.packages is not None else ["packages"]  # no package database
        assert [e.fact for e in facts.errors] == expected_errors, (host.name, facts.errors)
        assert facts.os is not None
        assert (facts.os.id, facts.os.version_id, facts.os.family) == \
            (host.os.id, host.os.version_id, host.os.family.lower()), host.name  # lab uses Ansible casing
        assert facts.cpu is not None and facts.cpu.count == host.cpu_count, host.name
        assert facts.memory_mb == host.memory_mb, host.name
        assert facts.hostname is not None and facts.hostname.split(".")[0] == host.hostname.split(".")[0]
        assert {(d.name, d.size_gb) for d in facts.disks} == {(d.name, float(d.size_gb)) for d in host.disks}


def test_listeners_with_process_names(discovered: Discovered, lab: Any) -> None:
    for host in lab.manifest.hosts:
        facts = discovered.facts(host.name)
        listening = {(lst.port, lst.process) for lst in facts.listening if lst.protocol == "tcp"}
        for service in host.services:
            if service.port:
                assert (service.port, service.process) in listening, (host.name, service)
        assert any(port == 22 for port, _ in listening)


def test_udp_listeners_match_manifest(discovered: Discovered, lab: Any) -> None:
    udp_hosts = 0
    for host in lab.manifest.hosts:
        facts = discovered.facts(host.name)
        udp = {(lst.port, lst.process) for lst in facts.listening if lst.protocol == "udp"}
        assert udp == {(s.udp_port, s.process) for s in host.services if s.udp_port}, host.name
        udp_hosts += bool(udp)
    assert udp_hosts, "the lab should have UDP services (syslog, DNS)"


def test_outbound_connections_with_process_and_direction(discovered: Discovered, lab: Any) -> None:
    address_of = {h.name: h.address for h in lab.manifest.hosts}
    for host in lab.manifest.hosts:
        facts = discovered.facts(host.name)
        outbound = {(c.remote_address, c.remote_port, c.process, c.protocol) for c in facts.connections
                    if c.direction == "outbound"}
        for expected in host.connections:
            assert (address_of[expected.target], expected.port, expected.process, expected.protocol) in outbound, \
                (host.name, expected)
        listened = {(lst.protocol, lst.port) for lst in facts.listening}
        for conn in facts.connections:
            assert (conn.direction == "inbound") == ((conn.protocol, conn.local_port) in listened), (host.name, conn)
        udp_expected = {(address_of[c.target], c.port, c.process) for c in host.connections if c.protocol == "udp"}
        assert {(c.remote_address, c.remote_port, c.process) for c in facts.connections
                if c.protocol == "udp" and c.remote_address in address_of.values()} == udp_expected, host.name


def test_lab_discovery_is_fast(discovered: Discovered) -> None:
    assert discovered.seconds < 30


def test_cli_exit_codes_and_export_shape(discovered: Discovered, lab: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    ws, inventory = str(lab.workspace.root), lab.manifest.paths.inventory
    first = _hosts(lab)[0]
    ok = runner.invoke(app, ["-w", ws, "discover", "-i", inventory, "--limit", first, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["hosts"][0]["name"] == first
    unknown = runner.invoke(app, ["-w", ws, "discover", "-i", inventory, "--limit", first,
                                  "--known-hosts", str(tmp_path / "empty"), "--json"])
    assert unknown.exit_code == 3
    assert json.loads(unknown.stdout)["failed"][0]["category"] == "host_key_unknown"
    bad = tmp_path / "bad.yml"
    bad.write_text("all:\n  hosts: [\n")
    with Store.open(lab.workspace.db_path) as store:
        before = len(store.snapshots())
    assert runner.invoke(app, ["-w", ws, "discover", "-i", str(bad)]).exit_code == 1
    assert runner.invoke(app, ["-w", ws, "discover", "-i", inventory, "--limit", "no-such-host"]).exit_code == 1
    with Store.open(lab.workspace.db_path) as store:
        assert len(store.snapshots()) == before
    out = tmp_path / "export.json"
    exported = runner.invoke(app, ["-w", ws, "inventory", "export", "--format", "json", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    document = json.loads(out.read_text())
    assert document["schema_version"] == 1
    assert {h["name"] for h in document["hosts"]} == set(_hosts(lab))
    for host in document["hosts"]:
        assert set(host) >= EXPORT_KEYS
        assert set(host["os"]) >= {"id", "version_id", "name", "family"}
        assert set(host["cpu"]) >= {"count"}
        for conn in host["connections"]:
            assert set(conn) >= {"local_address", "local_port", "remote_address", "remote_port", "process",
                                 "direction", "protocol"}
        for listener in host["listening"]:
            assert set(listener) >= {"port", "protocol", "address", "process"}


MIDDLEWARE_OF_PROCESS = {"nginx": "nginx", "java": "java", "postgres": "postgres", "redis-server": "redis"}


def test_services_middleware_network_and_mounts(discovered: Discovered, lab: Any) -> None:
    for host in lab.manifest.hosts:
        facts = discovered.facts(host.name)
        services = {s.name: s for s in facts.services}
        for service in host.services:
            assert service.name in services, (host.name, service.name, sorted(services))
        kinds = {m.kind for m in facts.middleware}
        for service in host.services:
            if service.process in MIDDLEWARE_OF_PROCESS:
                assert MIDDLEWARE_OF_PROCESS[service.process] in kinds, (host.name, service, facts.middleware)
        assert {s.process for s in host.services} <= set(facts.processes), host.name
        addresses = {a.split("/")[0] for i in facts.interfaces for a in i.addresses}
        assert host.address in addresses, (host.name, facts.interfaces)
        assert any(m.mountpoint == "/" and m.size_mb > 0 for m in facts.mounts), (host.name, facts.mounts)
        assert facts.eol is not None and facts.virtualization
        for fact in ("services", "network", "mounts", "cron", "virtualization", "processes"):
            assert facts.completeness[fact] in ("complete", "partial"), (host.name, fact)


def test_packages_are_each_hosts_own(discovered: Discovered, lab: Any) -> None:
    """Debian-family hosts list their own dpkg database; the others have no package database in the lab
    and must not show the machine's packages."""
    families = set()
    for host in lab.manifest.hosts:
        facts = discovered.facts(host.name)
        if host.packages is None:
            assert facts.completeness["packages"] == "failed" and facts.packages == (), host.name
            (error,) = facts.errors
            assert error.fact == "packages" and "no package database" in error.message, error
        else:
            assert facts.completeness["packages"] == "complete", host.name
            assert {f"{p.name} {p.version} {p.arch}" for p in facts.packages} == set(host.packages), host.name
            assert {p.manager for p in facts.packages} == {"dpkg"}
        families.add(host.packages is None)
    assert families == {True, False}, "the test lab should have hosts of both kinds"


def test_export_has_the_new_keys(discovered: Discovered) -> None:
    from orchestrator.discover import EXTRA_KEYS, export_document

    document = export_document(discovered.result.facts)
    for host in document["hosts"]:
        assert EXPORT_KEYS | set(EXTRA_KEYS) <= set(host)
        json.dumps(host)


def test_samples_give_dependency_edges_over_time(discovered: Discovered, lab: Any) -> None:
    from orchestrator.discover import export_document

    result = discover(lab.workspace, Path(lab.manifest.paths.inventory), forks=10, timeout=10, samples=3,
                      interval=1)
    assert result.failed == ()
    by_name = {f.name: f for f in result.facts}
    for facts in result.facts:
        assert facts.samples == 3 and facts.completeness["samples"] == "complete", (facts.name, facts.errors)
        assert facts.utilisation is not None and len(facts.utilisation.intervals) == 2
        assert facts.utilisation.peak is not None and facts.utilisation.peak.cpu_percent is not None
        assert facts.utilisation.peak.memory_used_percent is not None
    edges = {(e.source, e.target, e.port, e.protocol): e for e in result.dependencies.edges}
    for host in lab.manifest.hosts:
        for link in host.connections:
            if link.target == host.name:
                continue  # a host talking to itself is not a dependency between hosts
            edge = edges[(host.name, link.target, link.port, link.protocol)]
            assert edge.source_process == link.process, edge
            target = next(t for t in lab.manifest.hosts if t.name == link.target)
            serving = {s.process for s in target.services
                       if (s.udp_port if link.protocol == "udp" else s.port) == link.port}
            assert edge.target_process in serving, edge
            assert edge.observations == 3 and edge.first_seen < edge.last_seen, edge
    expected = {(h.name, c.target, c.port, c.protocol) for h in lab.manifest.hosts for c in h.connections
                if c.target != h.name}
    assert set(edges) == expected
    assert any(key[3] == "udp" for key in expected), "the lab should have UDP dependencies (syslog)"
    document = export_document(list(by_name.values()))
    assert len(document["dependencies"]) == len(expected)


def test_cli_samples_json_and_diff(discovered: Discovered, lab: Any) -> None:
    runner = CliRunner()
    ws, inventory = str(lab.workspace.root), lab.manifest.paths.inventory
    first = _hosts(lab)[0]
    sampled = runner.invoke(app, ["-w", ws, "discover", "-i", inventory, "--limit", first, "--samples", "2",
                                  "--interval", "1", "--json"])
    assert sampled.exit_code == 0, sampled.output
    data = json.loads(sampled.stdout)
    assert data["hosts"][0]["samples"] == 2 and data["hosts"][0]["utilisation"]["peak"] is not None
    assert "dependencies" in data and "external_endpoints" in data
    changes = runner.invoke(app, ["-w", ws, "inventory", "diff", "--json"])
    assert changes.exit_code == 0, changes.output
    diff = json.loads(changes.stdout)
    assert diff["snapshot_b"] == data["snapshot_id"] and diff["appeared"] == []
