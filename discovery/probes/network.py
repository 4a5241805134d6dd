"""Network: interfaces and addresses (``ip -o addr``/``ip -o link``, else ``ifconfig -a``), the default
gateway (``ip route``, else /proc/net/route) and DNS servers (/etc/resolv.conf). One section, sub-blocks."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from discovery.errors import ParseError
from discovery.facts import Interface

COMMAND = (
    "if command -v ip >/dev/null 2>&1 && ip -o addr >/dev/null 2>&1; then "
    "echo '%% ip-link'; ip -o link; echo '%% ip-addr'; ip -o addr; echo '%% ip-route'; ip route; "
    "else echo '%% ifconfig'; ifconfig -a 2>/dev/null || /sbin/ifconfig -a; "
    "echo '%% proc-route'; cat /proc/net/route; fi; echo '%% resolv'; cat /etc/resolv.conf; true"
)

_IP_LINK = re.compile(r"^\d+:\s+([^:@\s]+)(?:@\S+)?:\s+<([^>]*)>")
_LINK_MAC = re.compile(r"link/\w+\s+([0-9a-fA-F:]{17})")
_IP_ADDR = re.compile(r"^\d+:\s+(\S+)\s+inet6?\s+(\S+)")
_IFC_NEW = re.compile(r"^([^\s:]+):?\s+flags=\d+<([^>]*)>")
_IFC_OLD = re.compile(r"^(\S+)\s+Link encap:.*?(?:HWaddr\s+([0-9A-Fa-f:]{17}))?\s*$")


@dataclass(frozen=True)
class NetworkFacts:
    interfaces: tuple[Interface, ...]
    default_gateway: str | None
    dns_servers: tuple[str, ...]


def parse(text: str) -> NetworkFacts:
    blocks = _blocks(text)
    if "ip-addr" in blocks:
        interfaces = parse_ip(blocks.get("ip-link", []), blocks["ip-addr"])
        gateway = parse_ip_route(blocks.get("ip-route", []))
    elif "ifconfig" in blocks:
        interfaces = parse_ifconfig("\n".join(blocks["ifconfig"]))
        gateway = parse_proc_route(blocks.get("proc-route", []))
    else:
        raise ParseError("neither 'ip' nor 'ifconfig' printed anything")
    return NetworkFacts(interfaces, gateway, parse_resolv_conf(blocks.get("resolv", [])))


def _blocks(text: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("%% "):
            current = blocks.setdefault(line[3:].strip(), [])
        else:
            current.append(line)
    return blocks


def parse_ip(link_lines: list[str], addr_lines: list[str]) -> tuple[Interface, ...]:
    """``ip -o link`` (state, MAC) joined with ``ip -o addr`` (CIDR addresses) by interface name."""
    links: dict[str, tuple[bool, str | None]] = {}
    for line in link_lines:
        if found := _IP_LINK.match(line):
            mac = _LINK_MAC.search(line)
            links[found.group(1)] = ("UP" in found.group(2).split(","),
                                     mac.group(1).lower() if mac and mac.group(1) != "00:00:00:00:00:00" else None)
    addresses: dict[str, list[str]] = {name: [] for name in links}
    for line in addr_lines:
        if found := _IP_ADDR.match(line):
            addresses.setdefault(found.group(1), []).append(found.group(2))
    return tuple(Interface(name=name, addresses=tuple(addrs), mac=links.get(name, (None, None))[1],
                           up=links.get(name, (None, None))[0])
                 for name, addrs in sorted(addresses.items()))


def parse_ifconfig(text: str) -> tuple[Interface, ...]:
    """net-tools ifconfig, new ('eth0: flags=...', 'inet A  netmask M') and old ('Link encap', 'inet addr:')."""
    found: list[Interface] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if not lines:
            continue
        new, old = _IFC_NEW.match(lines[0]), _IFC_OLD.match(lines[0])
        if not new and not old:
            continue
        name = (new or old).group(1)  # type: ignore[union-attr]
        up = "UP" in new.group(2).split(",") if new else bool(re.search(r"^\s+UP\b", block, re.MULTILINE))
        mac = (old.group(2) if old else None) or _ether(block)
        found.append(Interface(name=name, addresses=_ifconfig_addresses(block), mac=mac.lower() if mac else None,
                               up=up))
    return tuple(sorted(found, key=lambda i: i.name))


def _ether(block: str) -> str | None:
    found = re.search(r"^\s+ether\s+([0-9a-fA-F:]{17})", block, re.MULTILINE)
    return found.group(1) if found else None


def _ifconfig_addresses(block: str) -> tuple[str, ...]:
    addresses = []
    for found in re.finditer(r"inet (?:addr:)?(\d+\.\d+\.\d+\.\d+).*?(?:netmask |Mask:)(\d+\.\d+\.\d+\.\d+)", block):
        try:
            prefix = ipaddress.IPv4Network(f"0.0.0.0/{found.group(2)}").prefixlen
        except ValueError:  # a garbled mask (not contiguous ones, octet > 255): the address without a prefix
            addresses.append(found.group(1))
            continue
        addresses.append(f"{found.group(1)}/{prefix}")
    for found in re.finditer(r"inet6 (?:addr:\s*)?([0-9a-fA-F:]+)(?:/(\d+)|\s+prefixlen (\d+))", block):
        addresses.append(f"{found.group(1)}/{found.group(2) or found.group(3)}")
    return tuple(addresses)


def parse_ip_route(lines: list[str]) -> str | None:
    """The first ``default via GW`` route's gateway."""
    for line in lines:
        parts = line.split()
        if parts[:1] == ["default"] and "via" in parts:
            return parts[parts.index("via") + 1]
    return None


def parse_proc_route(lines: list[str]) -> str | None:
    """/proc/net/route: destination 00000000 with the gateway flag (0x2); hex words are little-endian."""
    for line in lines:
        parts = line.split()
        if len(parts) < 4 or parts[1] != "00000000" or not int(parts[3], 16) & 2:
            continue
        return str(ipaddress.IPv4Address(bytes.fromhex(parts[2])[::-1]))
    return None


def parse_resolv_conf(lines: list[str]) -> tuple[str, ...]:
    servers = []
    for line in lines:
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            servers.append(parts[1])
    return tuple(servers)
