"""The lab topology is pure: same seed, same estate; shared services present; tiers connected."""

from __future__ import annotations

import pytest

from orchestrator.errors import LabError
from orchestrator.lab.topology import build_topology, cloud_cidr, host_addresses


def test_same_seed_same_estate():
    assert build_topology(7, 50, "10.213.0.0/16") == build_topology(7, 50, "10.213.0.0/16")
    assert build_topology(7, 50, "10.213.0.0/16") != build_topology(8, 50, "10.213.0.0/16")


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6, 10, 57, 200])
def test_shape(count):
    hosts = build_topology(3, count, "10.213.0.0/16")
    assert len(hosts) == count
    assert len({h.name for h in hosts}) == count
    assert len({h.address for h in hosts}) == count
    for h in hosts:
        assert 1 <= h.cpu_count <= 16 and 1024 <= h.memory_mb <= 65536
        assert h.disks and h.disks[0].name == "sda"
        names = {x.name for x in hosts}
        assert all(c.target in names for c in h.connections)


def test_shared_services_and_tiers_connected():
    hosts = build_topology(7, 60, "10.213.0.0/16")
    by_name = {h.name: h for h in hosts}
    tiers = {h.tier for h in hosts}
    assert {"dns", "ldap", "monitoring", "web", "app", "db"} <= tiers
    assert all(h.role == "shared-service" for h in hosts if h.tier in ("dns", "ldap", "monitoring"))
    for h in hosts:
        targets = {(by_name[c.target].tier, c.port, c.process) for c in h.connections}
        if h.tier != "ldap":
            assert ("ldap", 389, "sssd") in targets
        if h.tier == "web":
            assert ("app", 8080, "nginx") in targets
        if h.tier == "app":
            assert ("db", 5432, "java") in targets
    monitored = {c.target for h in hosts if h.tier == "monitoring" for c in h.connections}
    assert monitored == set(by_name)


def test_connections_match_service_specs():
    for h in build_topology(5, 40, "10.213.0.0/16"):
        from_services = {(t, p, s.process, "tcp") for s in h.services for t, p in s.connects}
        from_services |= {(t, p, s.process, "udp") for s in h.services for t, p in s.udp_connects}
        assert from_services == {(c.target, c.port, c.process, c.protocol) for c in h.connections}


def test_udp_syslog_and_dns():
    hosts = build_topology(5, 40, "10.213.0.0/16")
    by_name = {h.name: h for h in hosts}
    for h in hosts:
        udp = [c for c in h.connections if c.protocol == "udp"]
        if h.tier == "web":
            (link,) = udp
            assert (by_name[link.target].tier, link.port, link.process) == ("monitoring", 514, "nginx")
            assert any(s.process == "rsyslogd" and s.udp_port == 514 and not s.port
                       for s in by_name[link.target].services)
        else:
            assert udp == []
        if h.tier == "dns":
            assert any(s.process == "named" and s.port == s.udp_port == 53 for s in h.services)


def test_addresses():
    assert host_addresses("10.214.0.0/16", 2) == ["10.214.0.10", "10.214.0.11"]
    assert cloud_cidr("10.214.0.0/16") == "10.214.128.0/17"
    with pytest.raises(LabError):
        host_addresses("10.214.0.0/28", 5)
    with pytest.raises(LabError):
        build_topology(1, 0, "10.214.0.0/16")
