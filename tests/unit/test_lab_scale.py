"""Pure parts of large labs: bridge assignment, light hosts, kernel limits, the boot script."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from orchestrator.errors import LabError
from orchestrator.lab import limits
from orchestrator.lab.hosts import boot_script
from orchestrator.lab.netns import CLOUD_PORTS, PORTS_PER_BRIDGE, bridge_plan
from orchestrator.lab.topology import build_topology, lighten


@pytest.mark.parametrize("count", [1, 200, PORTS_PER_BRIDGE])
def test_one_bridge_while_the_hosts_fit(count):
    assert bridge_plan(count) == [0] * count


@pytest.mark.parametrize("count", [PORTS_PER_BRIDGE + 1, 2700, 5000])
def test_several_bridges_within_the_port_limit(count):
    plan = bridge_plan(count)
    sizes = Counter(plan)
    bridges = len(sizes)
    assert len(plan) == count and plan == sorted(plan)  # hosts fill bridges in order
    assert sorted(sizes) == list(range(bridges))
    # the first bridge: hosts + an uplink per other bridge + room for cloud instances
    assert sizes[0] + (bridges - 1) + CLOUD_PORTS <= PORTS_PER_BRIDGE
    for index in range(1, bridges):
        assert sizes[index] + 1 <= PORTS_PER_BRIDGE  # + its uplink
    assert bridges == 3 if count == 2700 else True


def test_small_port_cap_for_tests():
    plan = bridge_plan(30, 12)
    sizes = Counter(plan)
    assert len(sizes) == 4 and sizes[0] + 3 + 3 <= 12 and all(sizes[i] <= 11 for i in (1, 2, 3))
    with pytest.raises(LabError):
        bridge_plan(30, 3)


def test_light_hosts_keep_identity_and_run_nothing():
    full = build_topology(7, 60, "10.9.0.0/16")
    light = build_topology(7, 60, "10.9.0.0/16", services_on=20)
    for a, b in zip(full, light, strict=True):
        assert (a.name, a.address, a.os, a.cpu_count, a.memory_mb, a.disks, a.tier) == (
            b.name, b.address, b.os, b.cpu_count, b.memory_mb, b.disks, b.tier)
    assert all(not h.sshd_only for h in light[:20])
    assert all(h.sshd_only and not h.services and not h.connections for h in light[20:])
    gone = {h.name for h in light[20:]}
    for host in light[:20]:
        assert not {c.target for c in host.connections} & gone
        assert not {t for s in host.services for t, _ in (*s.connects, *s.udp_connects)} & gone
    # what is left between full hosts is exactly what the full estate had between them
    kept = {h.name for h in light[:20]}
    for a, b in zip(full[:20], light[:20], strict=True):
        assert {c for c in a.connections if c.target in kept} == set(b.connections)
    assert any(b.connections for b in light[:20])
    assert all(h.packages is None or len(h.packages) <= len(f.packages or ()) for h, f in zip(light, full, strict=True))


def test_lighten_all_or_nothing():
    hosts = build_topology(7, 10, "10.9.0.0/16")
    assert lighten(hosts, 10) == hosts
    assert all(h.sshd_only for h in lighten(hosts, 0))
    with pytest.raises(LabError):
        lighten(hosts, -1)


def test_boot_script_starts_services_only_on_full_hosts():
    full, light = build_topology(7, 40, "10.9.0.0/16", services_on=20)[19:21]
    assert " boot /etc/pindah-lab/services.json" in boot_script(Path("/x/hosts/a"), full, "python3", "10.9.0.0/16")
    script = boot_script(Path("/x/hosts/b"), light, "python3", "10.9.0.0/16")
    assert "services.json" not in script and "exec /usr/sbin/sshd" in script


def test_limits_raise_only_what_is_too_low():
    want = limits.needed(2700)
    assert want["net/ipv4/neigh/default/gc_thresh3"] > 2 * 2700  # root entries + one per host namespace
    assert want["net/ipv4/neigh/default/gc_thresh2"] > 2 * 2700
    # an ARP broadcast is queued once per bridge port on one CPU's backlog: room for every host, twice
    assert want["net/core/netdev_max_backlog"] >= 2 * 2700 + 1000
    current = {key: 1024 for key in want} | {"kernel/pid_max": 4194304}
    changes = limits.plan(current, want)
    assert "kernel/pid_max" not in changes and changes["net/ipv4/neigh/default/gc_thresh3"] == want[
        "net/ipv4/neigh/default/gc_thresh3"]
    assert limits.plan({key: 10**7 for key in want}, want) == {}


def test_limits_restored_unless_changed_since(tmp_path, monkeypatch):
    sysctl = tmp_path / "sys"
    for key in limits.needed(1):
        (sysctl / key).parent.mkdir(parents=True, exist_ok=True)
        (sysctl / key).write_text("1024\n")
    (sysctl / "kernel/pid_max").write_text("32768\n")
    monkeypatch.setattr(limits, "SYSCTL", sysctl)
    state = tmp_path / "lab"
    state.mkdir()
    changes = limits.raise_limits(state, 2700)
    key3, key2 = "net/ipv4/neigh/default/gc_thresh3", "net/ipv4/neigh/default/gc_thresh2"
    assert int((sysctl / key3).read_text()) == changes[key3] > 1024
    (sysctl / key2).write_text("99999\n")  # someone else changed it meanwhile: leave theirs
    limits.restore_limits(state)
    assert (sysctl / key3).read_text() == "1024\n"
    assert (sysctl / "kernel/pid_max").read_text() == "32768\n"
    assert (sysctl / key2).read_text() == "99999\n"
    assert not (state / limits.LIMITS_FILE).exists()
    limits.restore_limits(state)  # idempotent
