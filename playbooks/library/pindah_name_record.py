#!/usr/bin/python
"""Ansible module: read or point one name in a hosts-format name record file (the lab's DNS)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pindah_name_record
short_description: Point a name at an address in a hosts-format record file shared by the estate
description:
  - The file is the estate's name resolution (in the lab, every host's /etc/hosts is this file).
    Writers take C(.lock) beside it and replace the file atomically, so readers never see half a file.
  - With I(address) the name's records are replaced by one record for that address; without it the
    current address is only read.
options:
  path: {type: path, required: true, description: the record file on the controller}
  name: {type: str, required: true}
  address: {type: str, required: false}
"""

RETURN = r"""
address: {type: str, description: the name's address after the call (empty if none)}
previous: {type: str, description: the name's address before the call (empty if none)}
"""

import fcntl
import ipaddress
import os
import re

from ansible.module_utils.basic import AnsibleModule

NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
HEADER = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
LOCAL = ("localhost", "ip6-localhost", "ip6-loopback")


def parse(text):
    records = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        for name in fields[1:]:
            if name not in LOCAL:
                records[name] = fields[0]
    return records


def render(records):
    return HEADER + "".join(f"{address}\t{name}\n" for name, address in sorted(records.items()))


def main():
    module = AnsibleModule(argument_spec={
        "path": {"type": "path", "required": True},
        "name": {"type": "str", "required": True},
        "address": {"type": "str", "required": False},
    }, supports_check_mode=True)
    path, name, address = module.params["path"], module.params["name"], module.params.get("address")
    if not NAME_RE.match(name):
        module.fail_json(msg=f"{name!r} is not a host name")
    if address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            module.fail_json(msg=f"{address!r} is not an IP address")
    if not os.path.isdir(os.path.dirname(path) or "."):
        module.fail_json(msg=f"the name record directory of {path} does not exist")
    fd = os.open(os.path.join(os.path.dirname(path), ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            with open(path, encoding="utf-8") as fh:
                records = parse(fh.read())
        except FileNotFoundError:
            records = {}
        previous = records.get(name, "")
        changed = bool(address) and previous != address
        if changed and not module.check_mode:
            records[name] = address
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(render(records))
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    module.exit_json(changed=changed, previous=previous, address=address or previous)


if __name__ == "__main__":
    main()
