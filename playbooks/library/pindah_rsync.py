#!/usr/bin/python
"""Ansible module: one rsync run (argument list, never a shell) with its duration and transfer figures."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pindah_rsync
short_description: rsync -aR sources to a destination over SSH and measure it
description:
  - Runs C(rsync -aR --delete --protect-args --stats) with an argument list (paths are never shell text).
    C(changed) is true when rsync transferred at least one file.
options:
  sources: {type: list, elements: str, required: true}
  dest: {type: str, required: true}
  rsh: {type: str, required: true, description: the rsync -e value (ssh with host key checking)}
  bwlimit_kbps: {type: int, default: 0, description: bandwidth limit in KiB/s (0 = none)}
  mkpath: {type: bool, default: false}
  delete: {type: bool, default: true}
"""

RETURN = r"""
seconds: {type: float, description: wall time of the rsync run}
files_transferred: {type: int}
bytes_transferred: {type: int, description: total size of the files transferred}
"""

import re
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule


def figure(text, label):
    found = re.search(rf"^{re.escape(label)}: ([\d,.]+)", text, re.MULTILINE)
    return int(found.group(1).replace(",", "").split(".")[0]) if found else 0


def main():
    module = AnsibleModule(argument_spec={
        "sources": {"type": "list", "elements": "str", "required": True},
        "dest": {"type": "str", "required": True},
        "rsh": {"type": "str", "required": True},
        "bwlimit_kbps": {"type": "int", "default": 0},
        "mkpath": {"type": "bool", "default": False},
        "delete": {"type": "bool", "default": True},
    }, supports_check_mode=True)
    p = module.params
    if p["bwlimit_kbps"] < 0:
        module.fail_json(msg="bwlimit_kbps must be 0 (none) or a positive KiB/s figure")
    argv = ["rsync", "-aR", "--protect-args", "--stats", "--numeric-ids", "-e", p["rsh"]]
    argv += ["--delete"] if p["delete"] else []
    argv += ["--mkpath"] if p["mkpath"] else []
    argv += [f"--bwlimit={p['bwlimit_kbps']}"] if p["bwlimit_kbps"] else []
    argv += ["--dry-run"] if module.check_mode else []
    argv += [*p["sources"], p["dest"]]
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    seconds = round(time.monotonic() - started, 3)
    if proc.returncode != 0:
        module.fail_json(msg=f"rsync exited {proc.returncode}: {proc.stderr.strip()[-600:]}", rc=proc.returncode,
                         seconds=seconds)
    files = figure(proc.stdout, "Number of regular files transferred")
    module.exit_json(changed=files > 0 and not module.check_mode, seconds=seconds, files_transferred=files,
                     bytes_transferred=figure(proc.stdout, "Total transferred file size"))


if __name__ == "__main__":
    main()
