"""Network plumbing for lab hosts: one bridge in the root namespace, one netns + veth pair per host.

Names derive from a short hash of the lab's state dir so labs in different workspaces never collide.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
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


def create_host_net(tag: str, slot: str, address: str, subnet: str) -> str:
    """Namespace + veth for one host; returns the netns name."""
    ns, veth = netns_name(tag, slot), veth_name(tag, slot)
    prefix = ipaddress.ip_network(subnet).prefixlen
    gateway = str(ipaddress.ip_network(subnet).network_address + 1)
    run(["ip", "netns", "add", ns])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
    run(["ip", "link", "set", veth, "master", bridge_name(tag), "up"])
    script = (f"addr add {address}/{prefix} dev eth0\nlink set eth0 up\nlink set lo up\n"
              f"route add default via {gateway}\n")
    proc = subprocess.run(["ip", "-n", ns, "-batch", "-"], input=script, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise LabError(f"configuring {ns} failed: {proc.stderr.strip()[-300:]}", hint="see 'ip netns list'")
    return ns


def netns_pids(ns: str) -> list[int]:
    proc = run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


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
