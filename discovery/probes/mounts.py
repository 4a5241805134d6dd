"""Filesystems and mounts with size and use: ``df -P -k -T`` (POSIX output, KiB), else ``df -P -k``."""

from __future__ import annotations

from discovery.errors import ParseError
from discovery.facts import Mount

COMMAND = (
    "_t() { if command -v timeout >/dev/null 2>&1; then timeout 10 \"$@\"; else \"$@\"; fi; }; "
    "if df -P -k -T / >/dev/null 2>&1; then _t df -P -k -T; else _t df -P -k; fi"
)

_HEADER_START = "Filesystem"


def parse(text: str) -> tuple[Mount, ...]:
    """df rows by the header's columns (with or without Type); a mount point may contain spaces."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith(_HEADER_START):
        raise ParseError("df printed no 'Filesystem ...' header")
    has_type = lines[0].split()[1:2] == ["Type"]
    mounts = []
    pending = ""
    for line in lines[1:]:
        parts = (pending + " " + line).split() if pending else line.split()
        needed = 7 if has_type else 6
        if len(parts) < needed:
            pending = " ".join(parts)  # a long device name wrapped onto its own line (non -P df)
            continue
        pending = ""
        try:
            mounts.append(_mount(parts, has_type))
        except ValueError as exc:
            raise ParseError(f"df row not understood: {line[:200]!r} ({exc})") from None
    return tuple(mounts)


def _mount(parts: list[str], has_type: bool) -> Mount:
    offset = 1 if has_type else 0
    size, used, free = (int(parts[i + offset]) for i in (1, 2, 3))
    percent = parts[4 + offset].rstrip("%")
    return Mount(device=parts[0], fstype=parts[1] if has_type else "", size_mb=size // 1024,
                 used_mb=used // 1024, available_mb=free // 1024,
                 use_percent=int(percent) if percent.isdigit() else None,
                 mountpoint=" ".join(parts[5 + offset:]))
