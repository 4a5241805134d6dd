"""Running processes: ``ps -eo comm=,args=`` (command name, then the command line)."""

from __future__ import annotations

from dataclasses import dataclass

from discovery.errors import ParseError

COMMAND = "ps -e -o comm= -o args= 2>/dev/null || for p in /proc/[0-9]*; do cat \"$p/comm\"; done 2>/dev/null"


@dataclass(frozen=True)
class Process:
    name: str
    args: str


def parse(text: str) -> tuple[Process, ...]:
    """One process per line; kernel threads ([kthreadd]) dropped; a bare comm list (no ps) is accepted."""
    found = []
    for line in text.splitlines():
        name, _, args = line.strip().partition(" ")
        if not name or args.strip().startswith("[") or name.startswith("["):
            continue
        found.append(Process(name=name, args=args.strip()))
    if not found:
        raise ParseError("ps listed no processes")
    return tuple(found)
