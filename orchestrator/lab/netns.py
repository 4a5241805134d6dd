"""Network plumbing for lab hosts: bridges in the root namespace, one netns + veth pair per host.

A Linux bridge holds at most 1023 ports (``BR_MAX_PORTS`` is 1024, port 0 unused), so a larger lab gets
several bridges in one L2 segment: the first carries the gateway address, each further bridge is joined
to it by a veth pair (a star, no loops, no STP needed). Names derive from a short hash of the lab's state
dir so labs in different workspaces never collide.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import subprocess
from pathlib import Path

from orchestrator.errors import LabError


def lab_tag(state_dir: Path) -> str:
    return "pl" + hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:6]


PORTS_PER_BRIDGE = 1023  # the kernel's BR_MAX_PORTS - 1
CLOUD_PORTS = 64  # ports the first bridge keeps free for cloud instances when the hosts need several bridges


def bridge_name(tag: str, index: int = 0) -> str:
    return f"{tag}br" if index == 0 else f"{tag}br{index}"


def uplink_names(tag: str, index: int) -> tuple[str, str]:
    """The veth pair joining bridge ``index`` to the first bridge: (end on the first, end on ``index``)."""
    return f"{tag}up{index}", f"{tag}dn{index}"


def bridge_plan(count: int, ports: int = PORTS_PER_BRIDGE) -> list[int]:
    """Which bridge each of ``count`` hosts goes on, with at most ``ports`` ports per bridge.

    One bridge while the hosts fit; beyond that the first bridge keeps room for its uplinks and for cloud
    instances (``CLOUD_PORTS``, at most a quarter of its ports), every further bridge has one uplink port.
    """
    if ports < 4:
        raise LabError(f"a bridge needs at least 4 ports, got {ports}", hint="use the default port cap")
    if count <= ports:
        return [0] * count
    reserve = min(CLOUD_PORTS, ports // 4)
    bridges = 2
    while (ports - reserve - (bridges - 1)) + (bridges - 1) * (ports - 1) < count:
        bridges += 1
    sizes = [ports - reserve - (bridges - 1)] + [ports - 1] * (bridges - 1)
    plan: list[int] = []
    for index, size in enumerate(sizes):
        plan += [index] * min(size, count - len(plan))
    return plan


def netns_name(tag: str, slot: str) -> str:
    return f"{tag}-{slot}"


def veth_name(tag: str, slot: str) -> str:
    return f"{tag}v{slot}"[:15]


def run(args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(args)} failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}",
                       hint="run as root on Linux with iproute2; 'pindah lab down' cleans up a half-built lab")
    return proc


def subnet_in_use(subnet: str, own_bridge: str) -> str | None:
    """The route (device) already covering ``subnet``, or None."""
    net = ipaddress.ip_network(subnet)
    routes = json.loads(run(["ip", "-j", "route", "show", "table", "all"]).stdout or "[]")
    for route in routes:
        dst = route.get("dst", "")
        if dst in ("", "default") or route.get("dev") == own_bridge or ":" in dst:
            continue
        try:
            if ipaddress.ip_network(dst, strict=False).overlaps(net):
                return f"{dst} dev {route.get('dev', '?')}"
        except ValueError:
            continue
    return None


def create_bridge(bridge: str, subnet: str) -> None:
    net = ipaddress.ip_network(subnet)
    gateway = f"{net.network_address + 1}/{net.prefixlen}"
    run(["ip", "link", "add", bridge, "type", "bridge"])
    run(["ip", "addr", "add", gateway, "dev", bridge])
    run(["ip", "link", "set", bridge, "up"])


def create_bridges(tag: str, subnet: str, count: int) -> list[str]:
    """The first bridge (gateway address) and ``count - 1`` more joined to it; returns their names."""
    create_bridge(bridge_name(tag), subnet)
    lines = []
    for index in range(1, count):
        bridge, (up, down) = bridge_name(tag, index), uplink_names(tag, index)
        lines += [f"link add {bridge} type bridge", f"link add {up} type veth peer name {down}",
                  f"link set {up} master {bridge_name(tag)} up", f"link set {down} master {bridge} up",
                  f"link set {bridge} up"]
    if lines:
        proc = subprocess.run(["ip", "-batch", "-"], input="\n".join(lines) + "\n", capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise LabError(f"creating lab bridges failed: {proc.stderr.strip()[-300:]}",
                           hint="'pindah lab down' removes a half-built lab")
    return [bridge_name(tag, index) for index in range(count)]


def create_host_nets(tag: str, slots: list[str], bridges: list[int] | None = None) -> None:
    """Namespaces and veth pairs (root end on a bridge, ``eth0`` inside) for many hosts, in one ``ip``.

    ``bridges`` gives each slot's bridge index (default: all on the first).
    """
    lines = []
    for i, slot in enumerate(slots):
        ns, veth = netns_name(tag, slot), veth_name(tag, slot)
        bridge = bridge_name(tag, bridges[i] if bridges else 0)
        lines += [f"netns add {ns}", f"link add {veth} type veth peer name eth0 netns {ns}",
                  f"link set {veth} master {bridge} up"]
    proc = subprocess.run(["ip", "-batch", "-"], input="\n".join(lines) + "\n", capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise LabError(f"creating lab namespaces failed: {proc.stderr.strip()[-300:]}",
                       hint="'pindah lab down' removes a half-built lab")


def inside_config(address: str, subnet: str) -> str:
    """``ip -batch`` lines that give a host's ``eth0`` its address, run inside its namespace."""
    net = ipaddress.ip_network(subnet)
    return (f"addr add {address}/{net.prefixlen} dev eth0\nlink set eth0 up\nlink set lo up\n"
            f"route add default via {net.network_address + 1}\n")


def netns_pids(namespaces: list[str]) -> list[int]:
    """PIDs of every process inside any of ``namespaces`` (one pass over /proc)."""
    inodes = set()
    for ns in namespaces:
        try:
            inodes.add(os.stat(f"/run/netns/{ns}").st_ino)
        except OSError:
            continue
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/net").st_ino in inodes:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def batch(commands: list[str]) -> None:
    """Run many ``ip`` commands in one process, going on past errors (for teardown)."""
    if commands:
        subprocess.run(["ip", "-force", "-batch", "-"], input="\n".join(commands) + "\n", capture_output=True,
                       text=True, check=False)


def delete_host_net(tag: str, slot: str) -> None:
    run(["ip", "link", "del", veth_name(tag, slot)], check=False)
    run(["ip", "netns", "del", netns_name(tag, slot)], check=False)


def lab_netns(tag: str) -> list[str]:
    """Every netns of this lab (also ones a crashed 'lab up' left behind)."""
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(tag + "-")]


def lab_links(tag: str) -> list[str]:
    out = json.loads(run(["ip", "-j", "link", "show"], check=False).stdout or "[]")
    return [link["ifname"] for link in out if str(link.get("ifname", "")).startswith(tag)]


def delete_link(name: str) -> None:
    run(["ip", "link", "del", name], check=False)
