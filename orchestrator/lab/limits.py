"""Kernel limits a large lab outgrows, raised while it is up and put back by 'lab down'.

The neighbour (ARP/NDP) tables are shared by all network namespaces: the root namespace holds an entry
per lab host and every host one for the gateway and its peers, so past ~500 hosts the default
``gc_thresh3`` of 1024 gives "neighbour table overflow" and lost packets. A broadcast (an ARP request
for a host) is copied to every port of every bridge at once, each copy queued on one CPU's input
backlog: past ``netdev_max_backlog`` (1000) copies the rest are dropped, so with over a thousand hosts
hundreds of them never answer ARP ("no route to host"). ``pid_max`` (32768 on small
machines) bounds the lab's processes plus discovery's SSH sessions. Only values below what the lab
needs are raised; each raise is recorded in the state dir, and 'lab down' restores the old value unless
something else has changed the setting since.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

LIMITS_FILE = "sysctl.json"
SYSCTL = Path("/proc/sys")


def needed(hosts: int) -> dict[str, int]:
    """The minimum value of each setting for a lab of ``hosts`` hosts (defaults suffice for small labs)."""
    out: dict[str, int] = {}
    for family in ("ipv4", "ipv6"):
        out[f"net/{family}/neigh/default/gc_thresh2"] = 3 * hosts + 1024
        out[f"net/{family}/neigh/default/gc_thresh3"] = 4 * hosts + 2048
    out["net/core/netdev_max_backlog"] = 2 * hosts + 1000
    out["kernel/pid_max"] = 32768 + 16 * hosts
    return out


def plan(current: dict[str, int], want: dict[str, int]) -> dict[str, int]:
    """The settings to change: those whose current value is below what is wanted."""
    return {key: value for key, value in want.items() if key in current and current[key] < value}


def _read(key: str) -> int | None:
    try:
        return int((SYSCTL / key).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def raise_limits(state_dir: Path, hosts: int) -> dict[str, int]:
    """Raise the settings ``hosts`` needs; record {key: [old, new]} in the state dir. Returns the changes."""
    want = needed(hosts)
    current = {key: value for key in want if (value := _read(key)) is not None}
    changes = plan(current, want)
    path = state_dir / LIMITS_FILE
    record = json.loads(path.read_text()) if path.exists() else {}
    for key, value in changes.items():
        record.setdefault(key, [current[key], value])
        path.write_text(json.dumps(record, indent=1) + "\n")  # before the write: 'lab down' can undo it
        (SYSCTL / key).write_text(f"{value}\n")
    return changes


def restore_limits(state_dir: Path) -> None:
    """Put back each setting the lab raised, unless its value changed since (another lab or the admin)."""
    path = state_dir / LIMITS_FILE
    if not path.exists():
        return
    for key, (old, new) in json.loads(path.read_text()).items():
        if _read(key) == new:
            with contextlib.suppress(OSError):
                (SYSCTL / key).write_text(f"{old}\n")
    path.unlink()
