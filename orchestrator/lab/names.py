"""The lab's name resolution: one hosts-format record file that every lab host sees as its /etc/hosts.

The lab owns ``<state dir>/names/hosts``. Each host's boot script bind-mounts that directory at
``/etc/pindah-lab/names`` and the host's ``/etc/hosts`` is a symlink into it, so every lookup (glibc
re-reads /etc/hosts on each one) sees the current record. Changing a record is a DNS update for the
whole lab: a lab application resolves its peers by name on every reconnect, so pointing a name at a
migrated server's target moves its dependents there. Writers (the watcher, the cutover and rollback
playbooks' ``pindah_name_record`` module) take ``.lock`` and replace the file atomically.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Mapping
from pathlib import Path

NAMES_DIR = "names"
NAMES_FILE = "hosts"
INSIDE_DIR = "/etc/pindah-lab/names"  # where a lab host sees the record directory
HEADER = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def names_file(state_dir: Path) -> Path:
    return state_dir / NAMES_DIR / NAMES_FILE


def render(records: Mapping[str, str]) -> str:
    """The hosts file text: localhost first, then one ``address<TAB>name`` line per record, by name."""
    return HEADER + "".join(f"{address}\t{name}\n" for name, address in sorted(records.items()))


def parse(text: str) -> dict[str, str]:
    """name -> address of every record (localhost lines and comments skipped; the last line wins)."""
    records: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        for name in fields[1:]:
            if name not in ("localhost", "ip6-localhost", "ip6-loopback"):
                records[name] = fields[0]
    return records


def read(path: Path) -> dict[str, str]:
    try:
        return parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def write(path: Path, records: Mapping[str, str]) -> None:
    """Create the record file (and its directory) with ``records``: what 'lab up' does first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    update(path, dict(records))


def update(path: Path, changes: Mapping[str, str | None]) -> dict[str, str | None]:
    """Set (address) or delete (None) records under the lock; return each name's previous address."""
    bad = [n for n in changes if not NAME_RE.match(n)]
    if bad:
        raise ValueError(f"not a host name: {bad[0]!r}")
    with _locked(path):
        records = read(path)
        before = {name: records.get(name) for name in changes}
        for name, address in changes.items():
            if address is None:
                records.pop(name, None)
            else:
                records[name] = address
        if any(before[n] != changes[n] for n in changes) or not path.exists():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(render(records), encoding="utf-8")
            tmp.chmod(0o644)
            tmp.replace(path)
    return before


class _locked:
    def __init__(self, path: Path) -> None:
        self.lock = path.with_name(".lock")

    def __enter__(self) -> None:
        self.fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
