"""Whole-disk probe: ``lsblk -b -dn -o NAME,SIZE,TYPE`` with /proc/partitions as the fallback."""

from __future__ import annotations

import re

from discovery.errors import ParseError
from discovery.facts import Disk

COMMAND = (
    "if command -v lsblk >/dev/null 2>&1 && lsblk -b -dn -o NAME,SIZE,TYPE >/dev/null 2>&1; "
    "then echo '%% lsblk'; lsblk -b -dn -o NAME,SIZE,TYPE; "
    "else echo '%% partitions'; cat /proc/partitions; fi"
)

GIB = 1024**3
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_HUMAN = re.compile(r"^(\d+(?:[.,]\d+)?)([BKMGTP]?)$")
_NOT_DISKS = re.compile(r"^(loop|ram|zram|sr|fd|dm-|md|nbd)\d")
_PAIR = re.compile(r'(\w+)="([^"]*)"')


def parse(text: str) -> tuple[Disk, ...]:
    """Dispatch on the tool marker; output without a marker is taken as lsblk's."""
    lines = text.splitlines()
    if lines and lines[0].startswith("%% partitions"):
        return parse_proc_partitions("\n".join(lines[1:]))
    if lines and lines[0].startswith("%% lsblk"):
        lines = lines[1:]
    return parse_lsblk("\n".join(lines))


def _size_bytes(raw: str) -> int:
    found = _HUMAN.match(raw.strip().upper())
    if not found:
        raise ParseError(f"lsblk size {raw!r} is not a size")
    return int(float(found.group(1).replace(",", ".")) * _UNITS[found.group(2)])


def _gb(size_bytes: int) -> float:
    return round(size_bytes / GIB, 1)


def parse_lsblk(text: str) -> tuple[Disk, ...]:
    """lsblk NAME SIZE TYPE rows (plain, with a header, or -P pairs); keeps TYPE == disk only."""
    rows = [line for line in text.splitlines() if line.strip()]
    columns = ["NAME", "SIZE", "TYPE"]
    if rows and rows[0].split()[0] == "NAME":
        columns = rows.pop(0).split()
    disks = []
    for line in rows:
        pairs = dict(_PAIR.findall(line))
        row = pairs or dict(zip(columns, line.split(), strict=False))
        if row.get("TYPE") != "disk" or "NAME" not in row or "SIZE" not in row:
            continue
        name = row["NAME"].lstrip("|`-─└├ ")
        if _NOT_DISKS.match(name):
            continue
        disks.append(Disk(name=name, size_gb=_gb(_size_bytes(row["SIZE"]))))
    return tuple(disks)


def parse_proc_partitions(text: str) -> tuple[Disk, ...]:
    """/proc/partitions (1 KiB blocks): whole disks only, no partitions, loop, ram or device-mapper."""
    entries: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 4 or not parts[2].isdigit():
            continue
        entries[parts[3]] = int(parts[2])
    if not entries and text.strip() and "major" not in text:
        raise ParseError("/proc/partitions had no rows")
    disks = []
    for name, blocks in entries.items():
        if _NOT_DISKS.match(name) or _is_partition(name, entries):
            continue
        disks.append(Disk(name=name, size_gb=_gb(blocks * 1024)))
    return tuple(disks)


def _is_partition(name: str, entries: dict[str, int]) -> bool:
    for other in entries:
        if other != name and name.startswith(other) and re.fullmatch(r"p?\d+", name[len(other):]):
            return True
    return False
