"""Network parsers: real ifconfig / ip route / /proc/net/route captures; ip -o rows; resolv.conf."""

from __future__ import annotations

import ipaddress
import json

import pytest
from shared_fixtures import jc_fixture

from discovery.errors import ParseError
from discovery.probes import network


def test_ifconfig_capture_matches_jc() -> None:
    path = jc_fixture("centos-7.7/ifconfig.out")
    oracle = json.loads(path.with_suffix(".json").read_text())
    found = {i.name: i for i in network.parse_ifconfig(path.read_text())}
    assert set(found) == {row["name"] for row in oracle}
    for row in oracle:
        item = found[row["name"]]
        prefix = ipaddress.IPv4Network(f"0.0.0.0/{row['ipv4_mask']}").prefixlen
        assert f"{row['ipv4_addr']}/{prefix}" in item.addresses
        assert item.mac == row["mac_addr"]
        assert item.up == ("UP" in row["state"])
        if row["ipv6_addr"]:
            assert f"{row['ipv6_addr']}/{row['ipv6_mask']}" in item.addresses


def test_ip_route_capture_matches_jc() -> None:
    path = jc_fixture("centos-7.7/ip_route.out")
    oracle = json.loads(path.with_suffix(".json").read_text())
    expected = next(row["via"] for row in oracle if row["ip"] == "default")
    assert network.parse_ip_route(path.read_text().splitlines()) == expected


def test_proc_net_route_capture_matches_jc() -> None:
    path = jc_fixture("linux-proc/net_route")
    oracle = json.loads(path.with_name("net_route.json").read_text())
    row = next(r for r in oracle if r["Destination"] == "00000000")
    expected = str(ipaddress.IPv4Address(bytes.fromhex(row["Gateway"])[::-1]))
    assert network.parse_proc_route(path.read_text().splitlines()) == expected == "192.168.71.2"


def test_ip_o_link_and_addr() -> None:
    text = ("%% ip-link\n1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\\"
            "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
            "4: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP\\    link/ether 02:FC:00:00:00:01 brd "
            "ff:ff:ff:ff:ff:ff\n3: eth1: <BROADCAST,MULTICAST> mtu 1500 state DOWN\\    link/ether "
            "02:fc:00:00:00:02 brd ff:ff:ff:ff:ff:ff\n"
            "%% ip-addr\n1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n"
            "4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever\n"
            "4: eth0    inet6 fd00::2/64 scope global \\       valid_lft forever\n"
            "%% ip-route\ndefault via 192.0.2.1 dev eth0\n192.0.2.0/24 dev eth0 proto kernel\n"
            "%% resolv\n# comment\nnameserver 10.0.0.53\nsearch example\nnameserver 10.0.0.54 # second\n")
    facts = network.parse(text)
    assert [(i.name, i.addresses, i.mac, i.up) for i in facts.interfaces] == [
        ("eth0", ("192.0.2.2/24", "fd00::2/64"), "02:fc:00:00:00:01", True),
        ("eth1", (), "02:fc:00:00:00:02", False),
        ("lo", ("127.0.0.1/8",), None, True)]
    assert facts.default_gateway == "192.0.2.1"
    assert facts.dns_servers == ("10.0.0.53", "10.0.0.54")


def test_old_ifconfig_format() -> None:
    text = ("eth0      Link encap:Ethernet  HWaddr 00:0C:29:3B:58:0E\n"
            "          inet addr:10.1.2.3  Bcast:10.1.2.255  Mask:255.255.255.0\n"
            "          inet6 addr: fe80::20c:29ff:fe3b:580e/64 Scope:Link\n"
            "          UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1\n")
    (item,) = network.parse_ifconfig(text)
    assert (item.name, item.mac, item.up) == ("eth0", "00:0c:29:3b:58:0e", True)
    assert item.addresses == ("10.1.2.3/24", "fe80::20c:29ff:fe3b:580e/64")


def test_nothing_answered_fails() -> None:
    with pytest.raises(ParseError):
        network.parse("%% resolv\nnameserver 1.1.1.1\n")


@pytest.mark.parametrize("mask", ["2255.0.0.0", "55.0.0.0", "255.0.255.0"])
def test_ifconfig_garbled_netmask_keeps_the_address_without_a_prefix(mask: str) -> None:
    text = ("eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n"
            f"        inet 10.0.0.5  netmask {mask}  broadcast 10.0.0.255\n")
    (eth0,) = network.parse_ifconfig(text)
    assert eth0.addresses == ("10.0.0.5",)
