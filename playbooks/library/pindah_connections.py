#!/usr/bin/python
"""Ansible module: the established TCP connections to some local ports, from /proc/net/tcp{,6}."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pindah_connections
short_description: Established inbound TCP connections on the given local ports
description:
  - Reads C(/proc/net/tcp) and C(/proc/net/tcp6) of the host (standard library only, no C(ss) needed).
options:
  ports: {type: list, elements: int, required: true}
"""

RETURN = r"""
established: {type: list, description: "each {local_port, remote_address, remote_port}"}
remote_addresses: {type: list, description: the distinct remote addresses}
"""

import ipaddress
import socket
import struct

from ansible.module_utils.basic import AnsibleModule

ESTABLISHED = "01"


def decode(hex_address, family):
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if family == socket.AF_INET:
        address = socket.inet_ntop(family, struct.pack("<I", int(host, 16)))
    else:
        words = struct.unpack("<IIII", raw)
        address = socket.inet_ntop(family, struct.pack(">IIII", *words))
        mapped = ipaddress.IPv6Address(address).ipv4_mapped
        address = str(mapped) if mapped else address
    return address, int(port, 16)


def established(ports):
    found = []
    for path, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            with open(path, encoding="ascii") as fh:
                lines = fh.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != ESTABLISHED:
                continue
            _, local_port = decode(fields[1], family)
            if local_port in ports:
                remote, remote_port = decode(fields[2], family)
                found.append({"local_port": local_port, "remote_address": remote, "remote_port": remote_port})
    return found


def main():
    module = AnsibleModule(argument_spec={"ports": {"type": "list", "elements": "int", "required": True}},
                           supports_check_mode=True)
    conns = established(set(module.params["ports"]))
    module.exit_json(changed=False, established=conns,
                     remote_addresses=sorted({c["remote_address"] for c in conns}))


if __name__ == "__main__":
    main()
