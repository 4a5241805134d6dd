"""Socket probe: ``ss`` → ``netstat`` → /proc/net/{tcp,udp}{,6}; listeners and established connections.

TCP and UDP both: UDP listeners are unconnected (UNCONN) sockets bound to a port, UDP connections are
connected (ESTAB) UDP sockets, e.g. a client's socket to its DNS, syslog or NTP server. Direction comes
from the host's own listeners of the same protocol: a connection whose local port this host listens on
(at that address or a wildcard) is inbound, anything else outbound. /proc/net has no process names, so
facts from it are partial.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from discovery.errors import ParseError
from discovery.facts import Connection, Listener

COMMAND = (
    "if command -v ss >/dev/null 2>&1; then echo '%% ss'; ss -Htuanp 2>/dev/null || ss -tuanp; "
    "elif command -v netstat >/dev/null 2>&1; then echo '%% netstat'; netstat -tuanp; "
    "else echo '%% proc'; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; "
    "echo '%% udp'; cat /proc/net/udp /proc/net/udp6 2>/dev/null; fi"
)

WILDCARDS = frozenset({"0.0.0.0", "::", "*"})  # noqa: S104 (addresses, not a bind)
_LISTEN_STATES = frozenset({"LISTEN", "UNCONN"})
_ESTAB_STATES = frozenset({"ESTAB", "ESTABLISHED"})
_SS_PROCESS = re.compile(r'users:\(\("([^"]+)"')
_PROC_STATES = {"0A": "LISTEN", "01": "ESTAB"}
_PROC_UDP_STATES = {"07": "UNCONN", "01": "ESTAB"}
UDP_MARK = "%% udp"  # in the proc fallback: the /proc/net/udp{,6} rows follow


@dataclass(frozen=True)
class RawSocket:
    protocol: str
    state: str
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int | None
    process: str | None


@dataclass(frozen=True)
class SocketFacts:
    listening: tuple[Listener, ...]
    connections: tuple[Connection, ...]
    has_process_names: bool


def normalize_address(raw: str) -> str:
    """Strip brackets and %iface, unmap ::ffff:a.b.c.d, keep wildcards as 0.0.0.0 / ::."""
    host = raw.strip().strip("[]").split("%", 1)[0]
    if host in ("*", ""):
        return "0.0.0.0"  # noqa: S104
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def split_endpoint(raw: str) -> tuple[str, int | None]:
    """'10.0.0.5:22', '[::1]:22', ':::22', '*:*', '::ffff:1.2.3.4:80' → (address, port or None)."""
    host, _, port = raw.rpartition(":")
    return normalize_address(host), int(port) if port.isdigit() else None


def parse(text: str) -> SocketFacts:
    """Dispatch on the ``%% tool`` marker line the command prints; unmarked text is sniffed."""
    lines = text.splitlines()
    tool = lines[0][3:].strip() if lines and lines[0].startswith("%% ") else _sniff(lines)
    body = lines[1:] if lines and lines[0].startswith("%% ") else lines
    if tool == "ss":
        raw = parse_ss(body)
    elif tool == "netstat":
        raw = parse_netstat(body)
    elif tool == "proc":
        udp_at = body.index(UDP_MARK) if UDP_MARK in body else len(body)
        raw = parse_proc_net_tcp(body[:udp_at]) + parse_proc_net_udp(body[udp_at + 1:])
    else:
        raise ParseError(f"unknown socket tool {tool!r}")
    # /proc/net/tcp never names processes; ss/netstat run without root name none of the others' sockets
    named = tool != "proc" and (not raw or any(sock.process for sock in raw))
    return classify(raw, has_process_names=named)


def _sniff(lines: list[str]) -> str:
    head = " ".join(lines[:2])
    if "local_address" in head:
        return "proc"
    if "Proto" in head or "Active Internet" in head:
        return "netstat"
    return "ss"


def parse_ss(lines: list[str]) -> list[RawSocket]:
    """ss -tanp / -Htanp / -tunap rows (with or without the Netid column)."""
    found = []
    for line in lines:
        parts = line.split()
        if len(parts) < 5 or parts[0] in ("State", "Netid"):
            continue
        protocol = "tcp"
        if parts[0] in ("tcp", "udp", "raw", "u_str", "u_dgr", "u_seq", "nl", "p_raw", "p_dgr", "icmp6"):
            protocol, parts = parts[0], parts[1:]
        if protocol not in ("tcp", "udp") or len(parts) < 5:
            continue
        local, lport = split_endpoint(parts[3])
        remote, rport = split_endpoint(parts[4])
        process = _SS_PROCESS.search(line)
        if lport is not None:
            found.append(RawSocket(protocol, parts[0], local, lport, remote, rport,
                                   process.group(1) if process else None))
    return found


def parse_netstat(lines: list[str]) -> list[RawSocket]:
    """netstat -tanp / -tunap rows; PID/Program is '123/nginx' or '123/sshd: root@pts/0' or '-'."""
    found = []
    for line in lines:
        parts = line.split()
        if len(parts) < 6 or not parts[0].startswith(("tcp", "udp")):
            continue
        protocol = "udp" if parts[0].startswith("udp") else "tcp"
        local, lport = split_endpoint(parts[3])
        remote, rport = split_endpoint(parts[4])
        has_state = parts[5].isalpha() and parts[5].isupper() and "/" not in parts[5]
        state = parts[5] if has_state else "UNCONN"
        program = " ".join(parts[6:] if has_state else parts[5:])
        if lport is not None:
            found.append(RawSocket(protocol, state, local, lport, remote, rport, _netstat_program(program)))
    return found


def _netstat_program(field: str) -> str | None:
    _, sep, name = field.partition("/")
    if not sep or not name.strip():
        return None
    return name.split()[0].rstrip(":") or None


def _hex_address(raw: str) -> tuple[str, int]:
    host, _, port = raw.partition(":")
    data = bytes.fromhex(host)
    words = b"".join(data[i:i + 4][::-1] for i in range(0, len(data), 4))
    address = ipaddress.ip_address(words)
    return normalize_address(str(address)), int(port, 16)


def parse_proc_net_tcp(lines: list[str]) -> list[RawSocket]:
    """/proc/net/tcp and /proc/net/tcp6 rows (little-endian hex words); no process names there."""
    found = []
    for line in lines:
        parts = line.split()
        if len(parts) < 4 or not parts[0].endswith(":") or parts[3] not in _PROC_STATES:
            continue
        local, lport = _hex_address(parts[1])
        remote, rport = _hex_address(parts[2])
        found.append(RawSocket("tcp", _PROC_STATES[parts[3]], local, lport, remote, rport, None))
    return found


def parse_proc_net_udp(lines: list[str]) -> list[RawSocket]:
    """/proc/net/udp and /proc/net/udp6 rows: state 07 (unconnected) bound to a port is a listener,
    01 a connected socket; the same layout as /proc/net/tcp."""
    found = []
    for line in lines:
        parts = line.split()
        if len(parts) < 4 or not parts[0].endswith(":") or parts[3] not in _PROC_UDP_STATES:
            continue
        local, lport = _hex_address(parts[1])
        remote, rport = _hex_address(parts[2])
        state = _PROC_UDP_STATES[parts[3]]
        if lport == 0:
            continue
        found.append(RawSocket("udp", state, local, lport, remote, rport if state == "ESTAB" else None, None))
    return found


def classify(raw: list[RawSocket], *, has_process_names: bool = True) -> SocketFacts:
    """Listeners (deduplicated) and established TCP / connected UDP sockets with a direction."""
    listening: dict[tuple[str, str, int, str | None], Listener] = {}
    for sock in raw:
        is_udp_listener = sock.protocol == "udp" and sock.remote_port is None
        if (sock.protocol == "tcp" and sock.state == "LISTEN") or (is_udp_listener and sock.state in _LISTEN_STATES):
            key = (sock.protocol, sock.local_address, sock.local_port, sock.process)
            listening[key] = Listener(port=sock.local_port, protocol="udp" if sock.protocol == "udp" else "tcp",
                                      address=sock.local_address, process=sock.process)
    own = {proto: {(lst.address, lst.port) for lst in listening.values() if lst.protocol == proto}
           for proto in ("tcp", "udp")}
    connections = [
        Connection(local_address=s.local_address, local_port=s.local_port, remote_address=s.remote_address,
                   remote_port=s.remote_port, process=s.process, protocol="udp" if s.protocol == "udp" else "tcp",
                   direction=direction(s.local_address, s.local_port, own[s.protocol]))
        for s in raw
        if s.protocol in own and s.state in _ESTAB_STATES and s.remote_port
    ]
    return SocketFacts(tuple(sorted(listening.values(), key=_listener_key)),
                       tuple(sorted(set(connections), key=_connection_key)), has_process_names)


def direction(local_address: str, local_port: int, listening: set[tuple[str, int]]) -> str:
    """inbound when this host listens on the local port at that address or a wildcard."""
    if (local_address, local_port) in listening:
        return "inbound"
    if any((wildcard, local_port) in listening for wildcard in WILDCARDS):
        return "inbound"
    return "outbound"


def _listener_key(item: Listener) -> tuple[str, int, str, str]:
    return (item.protocol, item.port, item.address, item.process or "")


def _connection_key(item: Connection) -> tuple[str, str, int, str, int, str]:
    return (item.protocol, item.local_address, item.local_port, item.remote_address, item.remote_port,
            item.process or "")
