"""Network plumbing for lab hosts: one bridge in the root namespace, one netns + veth pair per host.

Names derive from a short hash of the lab's state dir so labs in different workspaces never collide.
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


def bridge_name(tag: str) -> str:
    return f"{tag}br"


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


def create_host_nets(tag: str, slots: list[str]) -> None:
    """Namespaces and veth pairs (root end on the bridge, ``eth0`` inside) for many hosts, in one ``ip``."""
    lines = []
    for slot in slots:
        ns, veth = netns_name(tag, slot), veth_name(tag, slot)
        lines += [f"netns add {ns}", f"link add {veth} type veth peer name eth0 netns {ns}",
                  f"link set {veth} master {bridge_name(tag)} up"]
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
