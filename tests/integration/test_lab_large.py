"""A lab spread over several bridges (the large-lab layout, with a lowered port cap) and light hosts."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
import pytest

from orchestrator.lab import lab_down, lab_up
from orchestrator.lab.manifest import LabManifest
from orchestrator.lab.netns import lab_tag

pytestmark = pytest.mark.integration

HOSTS = 30
PORTS = 12  # 30 hosts over 4 bridges of at most 12 ports
SERVICES_ON = 10
SUBNET = "10.221.0.0/16"


def session(manifest: LabManifest, address: str, command: str) -> tuple[int, str]:
    client = paramiko.SSHClient()
    client.load_host_keys(manifest.paths.known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(address, username="root", key_filename=manifest.paths.private_key, look_for_keys=False,
                   allow_agent=False, timeout=15)
    try:
        _, stdout, _ = client.exec_command(command, timeout=20)
        out = stdout.read().decode()
        return stdout.channel.recv_exit_status(), out
    finally:
        client.close()


def bridge_ports() -> dict[str, list[str]]:
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout)
    ports: dict[str, list[str]] = {}
    for link in links:
        if "master" in link:
            ports.setdefault(link["master"], []).append(link["ifname"])
    return ports


def test_lab_over_several_bridges_with_light_hosts(tmp_path, lab_capable):
    state = tmp_path / "lab"
    tag = lab_tag(state)
    manifest = lab_up(state, HOSTS, seed=5, subnet=SUBNET, cloud=False, services_on=SERVICES_ON,
                      ports_per_bridge=PORTS)
    try:
        assert len(manifest.bridges) == 4 and manifest.bridges[0] == manifest.bridge
        ports = bridge_ports()
        for bridge in manifest.bridges:
            assert 1 < len(ports[bridge]) <= PORTS
        assert sum(len(ports[b]) for b in manifest.bridges) == HOSTS + 2 * (len(manifest.bridges) - 1)

        light = [h for h in manifest.hosts if h.sshd_only]
        assert len(light) == HOSTS - SERVICES_ON and all(not h.services and not h.connections for h in light)
        light_names = {h.name for h in light}
        for host in manifest.hosts[:SERVICES_ON]:
            assert host.services and not {c.target for c in host.connections} & light_names

        def check(host):  # every host, on every bridge, answers over SSH and runs what the manifest says
            rc, out = session(manifest, host.address, "hostname; ps -e -o comm=")
            assert rc == 0, out
            name, *procs = out.split()
            return name, set(procs) - {"sh", "ps"}

        with ThreadPoolExecutor(10) as pool:
            seen = dict(zip(manifest.hosts, pool.map(check, manifest.hosts), strict=True))
        for host, (name, procs) in seen.items():
            assert name == host.hostname
            assert procs == {"sshd"} | {s.process for s in host.services}, host.name

        # a host keeps no copy of the other hosts' namespace mounts (their number would grow with the
        # square of the hosts), and its /sys shows its own network links only
        first = manifest.hosts[-1]
        mountinfo = Path(f"/proc/{manifest.pids['sshd:' + first.name]}/mountinfo").read_text()
        assert "/run/netns/" not in mountinfo and " /run/netns " not in mountinfo
        rc, out = session(manifest, first.address, "ls /sys/class/net")
        assert rc == 0 and sorted(out.split()) == ["eth0", "lo"], out
    finally:
        lab_down(state)
    assert not state.exists()
    assert tag not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout)
    assert not [link["ifname"] for link in links if link["ifname"].startswith(tag)]
    for pid in manifest.pids.values():
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
