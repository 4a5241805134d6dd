"""Repeated samples within one SSH session: connections and utilisation counters polled K times.

One sh loop prints, per sample, its time and the sockets, /proc/stat, /proc/meminfo, /proc/diskstats and
/proc/net/dev texts after ``@@ NAME`` lines; it prints ``@@ tick`` every second it sleeps so that the
channel never goes quiet for longer than the command timeout. ``parse`` and ``rollup`` are pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise

from discovery.errors import ParseError
from discovery.facts import ObservedConnection, Utilisation, UtilisationSample
from discovery.probes import sockets

_WHOLE_DISK = re.compile(r"^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+|nvme\d+n\d+|mmcblk\d+)$")
_UTIL_FIELDS = ("cpu_percent", "memory_used_percent", "disk_read_kbps", "disk_write_kbps", "net_rx_kbps",
                "net_tx_kbps")


def command(count: int, interval: int) -> str:
    """The sampling loop: ``count`` samples, ``interval`` whole seconds apart."""
    if count < 1 or interval < 1:
        raise ValueError("samples and interval must be at least 1")
    return (
        f"i=0; while [ $i -lt {count} ]; do "
        "echo \"@@ sample $i $(date +%s)\"; "
        f"echo '@@ sockets'; ( {sockets.COMMAND} ) 2>/dev/null; "
        "echo '@@ stat'; head -1 /proc/stat; "
        "echo '@@ meminfo'; grep -E '^(MemTotal|MemAvailable|MemFree|Buffers|Cached):' /proc/meminfo; "
        "echo '@@ diskstats'; cat /proc/diskstats; echo '@@ netdev'; cat /proc/net/dev; "
        f"i=$((i+1)); if [ $i -lt {count} ]; then n=0; while [ $n -lt {interval} ]; do sleep 1; "
        "echo '@@ tick'; n=$((n+1)); done; fi; done"
    )


@dataclass
class RawSample:
    index: int
    at: datetime
    blocks: dict[str, list[str]] = field(default_factory=dict)


def parse(text: str) -> list[RawSample]:
    found: list[RawSample] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("@@ sample "):
            parts = line.split()
            if len(parts) != 4 or not parts[3].isdigit():
                raise ParseError(f"bad sample line {line!r}")
            found.append(RawSample(int(parts[2]), datetime.fromtimestamp(int(parts[3]), UTC)))
            current = None
        elif line.startswith("@@ "):
            name = line[3:].strip()
            current = None if name == "tick" or not found else found[-1].blocks.setdefault(name, [])
        elif current is not None:
            current.append(line)
    if not found:
        raise ParseError("the sampling loop printed no samples")
    return found


def observe(samples: list[RawSample], ignore_peer: tuple[str, int] | None = None) -> tuple[ObservedConnection, ...]:
    """Connections per sample merged: observations = samples that saw it; first/last seen times."""
    merged: dict[tuple[str, str, str, int, str, int, str], ObservedConnection] = {}
    for sample in samples:
        seen = set()
        for conn in sockets.parse("\n".join(sample.blocks.get("sockets", []))).connections:
            if ignore_peer is not None and (conn.remote_address, conn.remote_port) == ignore_peer:
                continue
            inbound = conn.direction == "inbound"
            key = (conn.protocol, conn.direction, conn.local_address if inbound else "",
                   conn.local_port if inbound else 0, conn.remote_address, 0 if inbound else conn.remote_port,
                   conn.process or "")
            if key in seen:
                continue
            seen.add(key)
            old = merged.get(key)
            merged[key] = ObservedConnection(
                direction=conn.direction, local_address=conn.local_address, local_port=conn.local_port,
                remote_address=conn.remote_address, remote_port=conn.remote_port, process=conn.process,
                protocol=conn.protocol, observations=(old.observations + 1) if old else 1,
                first_seen=old.first_seen if old else sample.at, last_seen=sample.at)
    return tuple(sorted(merged.values(), key=lambda c: (c.direction, c.remote_address, c.remote_port,
                                                        c.local_port, c.protocol, c.process or "")))


def utilisation(samples: list[RawSample]) -> Utilisation:
    """Rates per interval between consecutive samples, and the peak of each rate."""
    intervals = [i for a, b in pairwise(samples) if (i := _interval(a, b)) is not None]
    if not intervals:
        return Utilisation()
    peak: dict[str, float | None] = {}
    for name in _UTIL_FIELDS:
        values = [float(v) for i in intervals if (v := getattr(i, name)) is not None]
        peak[name] = max(values) if values else None
    return Utilisation(intervals=tuple(intervals),
                       peak=UtilisationSample(at=intervals[-1].at, seconds=sum(i.seconds for i in intervals),
                                              **peak))


def _interval(a: RawSample, b: RawSample) -> UtilisationSample | None:
    seconds = (b.at - a.at).total_seconds()
    if seconds <= 0:
        return None
    disk_a, disk_b = _disk(a), _disk(b)
    net_a, net_b = _net(a), _net(b)
    return UtilisationSample(
        at=b.at, seconds=seconds, cpu_percent=_cpu(a, b), memory_used_percent=_memory(b),
        disk_read_kbps=_rate(disk_a[0], disk_b[0], seconds), disk_write_kbps=_rate(disk_a[1], disk_b[1], seconds),
        net_rx_kbps=_rate(net_a[0], net_b[0], seconds), net_tx_kbps=_rate(net_a[1], net_b[1], seconds))


def _rate(before: int | None, after: int | None, seconds: float) -> float | None:
    if before is None or after is None or after < before:
        return None
    return round((after - before) / 1024 / seconds, 1)


def _cpu_times(sample: RawSample) -> tuple[int, int] | None:
    for line in sample.blocks.get("stat", []):
        parts = line.split()
        if parts[:1] == ["cpu"] and len(parts) >= 5:
            values = [int(v) for v in parts[1:9] if v.isdigit()]
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            return sum(values), idle
    return None


def _cpu(a: RawSample, b: RawSample) -> float | None:
    before, after = _cpu_times(a), _cpu_times(b)
    if before is None or after is None or after[0] <= before[0]:
        return None
    busy = (after[0] - before[0]) - (after[1] - before[1])
    return round(100 * busy / (after[0] - before[0]), 1)


def _memory(sample: RawSample) -> float | None:
    values = {}
    for line in sample.blocks.get("meminfo", []):
        key, _, rest = line.partition(":")
        if rest.split() and rest.split()[0].isdigit():
            values[key] = int(rest.split()[0])
    total = values.get("MemTotal")
    available = values.get("MemAvailable",
                           values.get("MemFree", 0) + values.get("Buffers", 0) + values.get("Cached", 0))
    if not total:
        return None
    return round(100 * (total - available) / total, 1)


def _disk(sample: RawSample) -> tuple[int | None, int | None]:
    """Bytes read and written by whole disks (sectors are 512 bytes in /proc/diskstats)."""
    read = written = 0
    found = False
    for line in sample.blocks.get("diskstats", []):
        parts = line.split()
        if len(parts) >= 10 and _WHOLE_DISK.match(parts[2]):
            read, written, found = read + int(parts[5]) * 512, written + int(parts[9]) * 512, True
    return (read, written) if found else (None, None)


def _net(sample: RawSample) -> tuple[int | None, int | None]:
    """Bytes received and sent on every interface but loopback."""
    rx = tx = 0
    found = False
    for line in sample.blocks.get("netdev", []):
        name, sep, rest = line.partition(":")
        parts = rest.split()
        if not sep or name.strip() == "lo" or len(parts) < 9 or not parts[0].isdigit():
            continue
        rx, tx, found = rx + int(parts[0]), tx + int(parts[8]), True
    return (rx, tx) if found else (None, None)
