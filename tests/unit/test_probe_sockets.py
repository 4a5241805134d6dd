"""Socket parsers (ss, netstat, /proc/net/tcp and udp) against real captures, and direction from own listeners."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shared_fixtures import SHARED_FIXTURES

from discovery.probes import sockets
from discovery.probes.sockets import RawSocket

FIXTURES = SHARED_FIXTURES
JC = FIXTURES / "jc"
NETSTAT = sorted(JC.glob("*/netstat*.out")) if JC.is_dir() else []
SS = sorted(JC.glob("*/ss*.out")) if JC.is_dir() else []
FLEET = FIXTURES / "generated-here" / "online-boutique-netns"
FLEET_HOSTS = sorted(FLEET.glob("*.ss-netstat-proc.txt")) if FLEET.is_dir() else []


def _ident(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _oracle(path: Path) -> list[dict[str, Any]]:
    return [row for row in json.loads(path.with_suffix(".json").read_text())
            if row.get("kind", "network") == "network"]


@pytest.mark.parametrize("path", NETSTAT, ids=[_ident(p) for p in NETSTAT])
def test_netstat_matches_jc(path: Path) -> None:
    facts = sockets.classify(sockets.parse_netstat(path.read_text().splitlines()))
    listeners = {(lst.protocol, lst.port, lst.process) for lst in facts.listening}
    connections = {(c.protocol, c.local_port, c.remote_port) for c in facts.connections}
    expected_listeners = set()
    for row in _oracle(path):
        proto = str(row.get("proto", "")).rstrip("6")
        if proto not in ("tcp", "udp") or "local_port_num" not in row:
            continue
        process = (row.get("program_name") or "").split(" ")[0].rstrip(":") or None
        udp_listener = proto == "udp" and row.get("state") is None and row.get("foreign_port") == "*"
        if row.get("state") == "LISTEN" or udp_listener:
            assert (proto, row["local_port_num"], process) in listeners
            expected_listeners.add((proto, row["local_port_num"], process))
        elif row.get("state") == "ESTABLISHED" and "foreign_port_num" in row:
            assert (proto, row["local_port_num"], row["foreign_port_num"]) in connections
    assert listeners == expected_listeners


UDP_NETSTAT = [p for p in NETSTAT if any(line.startswith("udp") for line in p.read_text().splitlines())]


@pytest.mark.parametrize("path", UDP_NETSTAT, ids=[_ident(p) for p in UDP_NETSTAT])
def test_netstat_udp_listeners_with_processes(path: Path) -> None:
    """Every captured numeric UDP socket without a peer is a UDP listener with its owning process."""
    facts = sockets.classify(sockets.parse_netstat(path.read_text().splitlines()))
    rows = [row for row in _oracle(path)
            if str(row.get("proto", "")).startswith("udp") and "local_port_num" in row and row.get("state") is None]
    udp = {(lst.port, lst.process) for lst in facts.listening if lst.protocol == "udp"}
    assert udp == {(row["local_port_num"], (row.get("program_name") or "").split(" ")[0].rstrip(":") or None)
                   for row in rows}
    assert not any(c.protocol == "udp" for c in facts.connections)  # no numeric connected UDP in these


@pytest.mark.parametrize("path", SS, ids=[_ident(p) for p in SS])
def test_ss_matches_jc(path: Path) -> None:
    facts = sockets.classify(sockets.parse_ss(path.read_text().splitlines()))
    listeners = {(lst.protocol, lst.port) for lst in facts.listening}
    connections = {(c.protocol, c.local_port, c.remote_port) for c in facts.connections}
    checked = 0
    for row in _oracle(path):
        if row.get("netid") not in ("tcp", "udp") or "local_port_num" not in row:
            continue
        listener = (row["netid"], row.get("state")) in (("tcp", "LISTEN"), ("udp", "UNCONN"))
        if listener and row.get("peer_port") == "*":
            assert (row["netid"], row["local_port_num"]) in listeners
            checked += 1
        elif row.get("state") == "ESTAB" and str(row.get("peer_port", "")).isdigit():
            assert (row["netid"], row["local_port_num"], int(row["peer_port"])) in connections
            checked += 1
    assert checked or not facts.listening
    udp_rows = {row["local_port_num"] for row in _oracle(path) if row.get("netid") == "udp"
                and row.get("state") == "UNCONN" and "local_port_num" in row}
    assert {lst.port for lst in facts.listening if lst.protocol == "udp"} == udp_rows


def test_ss_process_names_from_users_field() -> None:
    path = JC / "ubuntu-18.04" / "ss-sudo-tulpen.out"
    if not path.exists():
        pytest.skip("jc fixtures absent")
    facts = sockets.parse(path.read_text())
    by_port = {(lst.protocol, lst.port): lst.process for lst in facts.listening}
    assert by_port[("tcp", 9187)] == "prometheus-post"
    assert by_port[("udp", 53)] == "dnsmasq"


@pytest.mark.parametrize("name", ["net_tcp", "net_tcp6"])
def test_proc_net_tcp_matches_jc(name: str) -> None:
    path = JC / "linux-proc" / name
    if not path.exists():
        pytest.skip("jc fixtures absent")
    raw = sockets.parse_proc_net_tcp(path.read_text().splitlines())
    oracle = json.loads(path.with_name(name + ".json").read_text())
    expected = {(sockets.normalize_address(r["local_address"]), r["local_port"],
                 sockets.normalize_address(r["remote_address"]), r["remote_port"])
                for r in oracle if r["state"] in ("0A", "01")}
    assert {(s.local_address, s.local_port, s.remote_address, s.remote_port) for s in raw} == expected


# /proc/net/udp and udp6 rows in the kernel's layout (captured on a Debian 12 host, inode columns trimmed):
# chronyd on 127.0.0.1:323 and [::1]:323, a resolver client connected from 10.0.0.5:41234 to 10.0.0.53:53,
# and rsyslog's unconnected socket on 0.0.0.0:514.
PROC_UDP = """\
   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  371: 0100007F:0143 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 18363 2 0 0
  402: 0500000A:A062 3500000A:0035 01 00000000:00000000 00:00000000 00000000     0        0 20001 2 0 0
  777: 00000000:0202 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 20002 2 0 0
   sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when
  371: 00000000000000000000000001000000:0143 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000
"""


def test_proc_net_udp_listeners_and_connected_sockets() -> None:
    facts = sockets.parse("%% proc\n" + sockets.UDP_MARK + "\n" + PROC_UDP)
    assert {(x.protocol, x.address, x.port) for x in facts.listening} == {
        ("udp", "127.0.0.1", 323), ("udp", "::1", 323), ("udp", "0.0.0.0", 514)}
    assert [(c.protocol, c.local_port, c.remote_address, c.remote_port, c.direction) for c in facts.connections] \
        == [("udp", 41058, "10.0.0.53", 53, "outbound")]
    assert not facts.has_process_names


def test_udp_and_tcp_directions_come_from_their_own_listeners() -> None:
    facts = sockets.parse(
        "%% ss\n"
        "udp UNCONN 0 0 0.0.0.0:514 0.0.0.0:* users:((\"rsyslogd\",pid=5,fd=3))\n"
        "tcp LISTEN 0 128 0.0.0.0:53 0.0.0.0:* users:((\"named\",pid=6,fd=4))\n"
        "udp ESTAB 0 0 10.0.0.5:514 10.0.0.9:40000 users:((\"rsyslogd\",pid=5,fd=7))\n"
        "udp ESTAB 0 0 10.0.0.5:53 10.0.0.53:53 users:((\"named\",pid=6,fd=8))\n"
        "tcp ESTAB 0 0 10.0.0.5:53 10.0.0.7:45000 users:((\"named\",pid=6,fd=9))\n")
    assert {(c.protocol, c.local_port, c.direction) for c in facts.connections} == {
        ("udp", 514, "inbound"), ("udp", 53, "outbound"), ("tcp", 53, "inbound")}
    assert {(x.protocol, x.port) for x in facts.listening} == {("udp", 514), ("tcp", 53)}


def test_netstat_connected_udp_is_a_connection() -> None:
    facts = sockets.parse("%% netstat\nProto Recv-Q Send-Q Local Address Foreign Address State PID/Program name\n"
                          "udp 0 0 10.0.0.5:41000 10.0.0.20:514 ESTABLISHED 77/python3\n"
                          "udp 0 0 0.0.0.0:68 0.0.0.0:* 12/dhclient\n")
    assert [(c.protocol, c.remote_port, c.process, c.direction) for c in facts.connections] == \
        [("udp", 514, "python3", "outbound")]
    assert [(x.protocol, x.port, x.process) for x in facts.listening] == [("udp", 68, "dhclient")]


def _fleet_sections(path: Path) -> dict[str, list[str]]:
    lines = path.read_text().splitlines()
    marks = [i for i, line in enumerate(lines) if line.startswith("=== ")]
    return {"ss": lines[:marks[0]], "netstat": lines[marks[0] + 1:marks[1]], "proc": lines[marks[1] + 1:]}


def _service_of(ip: str) -> str | None:
    services = json.loads((FLEET / "service_map.json").read_text())
    return next((name for name, where in services.items() if where.split()[1] == ip), None)


@pytest.mark.parametrize("path", FLEET_HOSTS, ids=[p.name.split(".")[0] for p in FLEET_HOSTS])
def test_fleet_three_tools_agree(path: Path) -> None:
    parts = _fleet_sections(path)
    by_tool = {
        "ss": sockets.parse("%% ss\n" + "\n".join(parts["ss"])),
        "netstat": sockets.parse("%% netstat\n" + "\n".join(parts["netstat"])),
        "proc": sockets.parse("%% proc\n" + "\n".join(parts["proc"])),
    }

    def shape(facts: sockets.SocketFacts) -> set[tuple[str, int, str, int, str]]:
        return {(c.local_address, c.local_port, c.remote_address, c.remote_port, c.direction)
                for c in facts.connections}

    assert shape(by_tool["ss"]) == shape(by_tool["netstat"]) == shape(by_tool["proc"])
    assert {(c.local_port, c.process) for c in by_tool["ss"].connections} == \
        {(c.local_port, c.process) for c in by_tool["netstat"].connections}
    assert by_tool["ss"].has_process_names and not by_tool["proc"].has_process_names


@pytest.mark.parametrize("path", FLEET_HOSTS, ids=[p.name.split(".")[0] for p in FLEET_HOSTS])
def test_fleet_directions_match_the_service_graph(path: Path) -> None:
    edges_file = FIXTURES / "dependency-graphs" / "online-boutique" / "edges.json"
    if not edges_file.exists():
        pytest.skip("edges fixture absent")
    me = path.name.split(".")[0]
    edges = {(e["from"], e["to"], e["port"]) for e in json.loads(edges_file.read_text())}
    facts = sockets.parse("%% ss\n" + "\n".join(_fleet_sections(path)["ss"]))
    outbound = {(me, _service_of(c.remote_address), c.remote_port)
                for c in facts.connections if c.direction == "outbound"}
    inbound = {(_service_of(c.remote_address), me, c.local_port)
               for c in facts.connections if c.direction == "inbound" and c.local_port != 22}
    assert outbound and outbound <= edges
    assert {e for e in edges if e[0] == me} == outbound
    assert inbound <= edges | {("loadgenerator", "frontend", 80)}
    assert all(c.process == "python3" for c in facts.connections if c.direction == "outbound")


def _raw(state: str, local: str, lport: int, remote: str = "0.0.0.0", rport: int | None = None) -> RawSocket:
    return RawSocket("tcp", state, local, lport, remote, rport, "p")


def test_direction_uses_own_listeners_not_port_numbers() -> None:
    facts = sockets.classify([
        _raw("LISTEN", "10.0.0.5", 8080),
        _raw("LISTEN", "::", 5432),
        _raw("ESTAB", "10.0.0.5", 8080, "10.0.0.9", 41000),   # our service port → inbound
        _raw("ESTAB", "10.0.0.5", 5432, "10.0.0.7", 40000),   # wildcard listener → inbound
        _raw("ESTAB", "10.0.0.5", 40123, "10.0.0.9", 22),     # low remote port, still outbound
        _raw("ESTAB", "10.0.0.5", 3000, "10.0.0.9", 50000),   # no listener on 3000 → outbound
        _raw("ESTAB", "10.0.0.6", 8080, "10.0.0.9", 41001),   # listener bound to another address
    ])
    directions = {(c.local_address, c.local_port): c.direction for c in facts.connections}
    assert directions == {("10.0.0.5", 8080): "inbound", ("10.0.0.5", 5432): "inbound",
                          ("10.0.0.5", 40123): "outbound", ("10.0.0.5", 3000): "outbound",
                          ("10.0.0.6", 8080): "outbound"}


@pytest.mark.parametrize(("raw", "expected"), [
    ("10.0.0.5:22", ("10.0.0.5", 22)), ("[::ffff:10.0.0.5]:5432", ("10.0.0.5", 5432)),
    ("::ffff:10.0.0.5:5432", ("10.0.0.5", 5432)), ("*:22", ("0.0.0.0", 22)), ("[::]:22", ("::", 22)),
    (":::22", ("::", 22)), ("127.0.0.53%lo:53", ("127.0.0.53", 53)), ("0.0.0.0:*", ("0.0.0.0", None)),
    ("[fe80::1%eth0]:123", ("fe80::1", 123))])
def test_endpoints(raw: str, expected: tuple[str, int | None]) -> None:
    assert sockets.split_endpoint(raw) == expected


def test_ss_and_netstat_process_formats() -> None:
    ss = sockets.parse("%% ss\nESTAB 0 0 [::ffff:10.0.0.5]:41234 [::ffff:10.0.0.9]:5432 "
                       'users:(("java",pid=12,fd=6))\nLISTEN 0 128 *:8080 *:* users:(("java",pid=12,fd=5))\n')
    assert ss.connections[0].process == "java" and ss.connections[0].direction == "outbound"
    assert ss.connections[0].local_address == "10.0.0.5"
    netstat = sockets.parse("%% netstat\nProto Recv-Q Send-Q Local Address Foreign Address State PID/Program name\n"
                            "tcp6 0 0 :::22 :::* LISTEN 812/sshd: /usr/sbin/s\n"
                            "tcp 0 0 10.0.0.5:22 10.0.0.1:5000 ESTABLISHED 900/sshd: root@pts/0\n")
    assert netstat.listening[0].process == "sshd" and netstat.listening[0].address == "::"
    assert netstat.connections[0].direction == "inbound"


def test_no_process_names_at_all_is_partial() -> None:
    unprivileged = sockets.parse("%% ss\nLISTEN 0 128 0.0.0.0:22 0.0.0.0:*\nESTAB 0 0 10.0.0.5:22 10.0.0.1:5000\n")
    assert not unprivileged.has_process_names
    assert sockets.parse("%% ss\n").has_process_names
