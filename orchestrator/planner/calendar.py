"""Dates, change freezes, replication bandwidth and target zone capacity: the resources a wave uses. Pure.

Waves sit in *slots* of the calendar: explicit ``windows`` first, then back-to-back windows of ``wave_days``
from the day after the last window (or from ``start_date``). Wave k normally takes slot k; when nothing may
move in a slot (every remaining server is frozen then, or its zone's month is full) the slot is skipped and
the wave takes the next one. Without a calendar a wave has no dates and only its index.

Replication: a server's data (used space, else disk size) crosses its site's link (``bandwidth_mbps``, else
``default_bandwidth_mbps``); sites replicate in parallel, so a wave's replication time is its slowest site's.
With a calendar, each site's data in a wave must fit its window (``data <= Mbit/s x window hours``); a single
application larger than that is placed alone and reported.

Zones: each server lands in the zone that lists its site, else the zone without sites; a zone limits the
servers, vCPUs and memory (target sizes) that land in it per wave or per calendar month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from orchestrator.errors import PlanError
from orchestrator.plan import Freeze, PlanRules, Zone
from orchestrator.planner.inputs import ServerInput

MBIT_PER_GB = 8000.0  # decimal gigabytes
MAX_SLOTS = 1000


@dataclass(frozen=True)
class Calendar:
    windows: tuple[tuple[date, date], ...]
    start: date | None
    days: int
    end: date | None

    @classmethod
    def make(cls, rules: PlanRules) -> Calendar:
        windows = tuple((date.fromisoformat(a), date.fromisoformat(b)) for a, b in rules.windows)
        start = windows[-1][1] + timedelta(days=1) if windows else (
            date.fromisoformat(rules.start_date) if rules.start_date else None)
        return cls(windows, start, rules.wave_days, date.fromisoformat(rules.end_date) if rules.end_date else None)

    @property
    def dated(self) -> bool:
        return self.start is not None

    def dates(self, slot: int) -> tuple[date, date] | None:
        if slot <= len(self.windows):
            return self.windows[slot - 1]
        if self.start is None:
            return None
        first = self.start + timedelta(days=(slot - len(self.windows) - 1) * self.days)
        return first, first + timedelta(days=self.days - 1)

    def hours(self, slot: int) -> float | None:
        span = self.dates(slot)
        return None if span is None else ((span[1] - span[0]).days + 1) * 24.0

    def month(self, slot: int) -> str:
        span = self.dates(slot)
        return span[0].strftime("%Y-%m") if span else f"slot {slot}"


def covers(freeze: Freeze, server: ServerInput, application: str) -> bool:
    scoped = freeze.agencies or freeze.applications or freeze.servers or freeze.sites
    return not scoped or (server.agency in freeze.agencies or application in freeze.applications
                          or server.name in freeze.servers or server.site in freeze.sites)


def describe(freeze: Freeze) -> str:
    scope = [f"{k} {', '.join(v)}" for k, v in (("agencies", freeze.agencies), ("applications", freeze.applications),
                                                 ("servers", freeze.servers), ("sites", freeze.sites)) if v]
    return f"change freeze {freeze.name!r} ({freeze.start} to {freeze.end}; {'; '.join(scope) or 'every server'})"


def listed(names: Sequence[str], shown: int = 3) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def zone_of(server: ServerInput, zones: Iterable[Zone]) -> Zone | None:
    zones = tuple(zones)
    for zone in zones:
        if server.site is not None and server.site in zone.sites:
            return zone
    return next((z for z in zones if not z.sites), None)


def site_of(server: ServerInput) -> str:
    return server.site or "(no site)"


def server_data(server: ServerInput) -> float:
    return server.data_gb if server.data_gb is not None else (server.disk_gb or 0.0)


@dataclass
class Resources:
    """What the rules say about dates, freezes, bandwidth and zones, looked up per unit and per slot."""

    calendar: Calendar
    freezes: tuple[Freeze, ...]
    bandwidth: dict[str, float]
    default_bandwidth: float | None
    zones: dict[str, Zone]
    _frozen: dict[tuple[str, int], str | None] = field(default_factory=dict)
    _limits: dict[tuple[str, int], float | None] = field(default_factory=dict)
    _periods: dict[tuple[str, int, int], str] = field(default_factory=dict)
    limits: dict[str, tuple[float | None, float | None, float | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.limits = {n: (z.max_servers, z.max_vcpu, z.max_memory_gb) for n, z in self.zones.items()}

    @classmethod
    def make(cls, rules: PlanRules) -> Resources:
        zones = {z.name: z for z in rules.zones}
        calendar = Calendar.make(rules)
        if any(z.per == "month" for z in zones.values()) and not calendar.dated:
            raise PlanError("[plan] zones with per = \"month\" need dates for the waves",
                            hint="set [plan] start_date (and wave_days) or windows, or use per = \"wave\"")
        return cls(calendar, rules.freezes, dict(rules.bandwidth_mbps), rules.default_bandwidth_mbps, zones)

    def mbps(self, site: str) -> float | None:
        return self.bandwidth.get(site, self.default_bandwidth)

    def site_limit_gb(self, site: str, slot: int) -> float | None:
        """Most data the site can replicate in the slot's window; None: no limit known."""
        key = (site, slot)
        if key not in self._limits:
            mbps, hours = self.mbps(site), self.calendar.hours(slot)
            self._limits[key] = None if mbps is None or hours is None else mbps * hours * 3600 / MBIT_PER_GB
        return self._limits[key]

    def period(self, zone: str, index: int, slot: int) -> str:
        key = (zone, index, slot)
        if key not in self._periods:
            self._periods[key] = self.calendar.month(slot) if self.zones[zone].per == "month" else f"wave {index}"
        return self._periods[key]

    def frozen(self, unit: str, freezes: Sequence[tuple[Freeze, tuple[str, ...]]], slot: int) -> str | None:
        """Why the unit may not move in ``slot`` (the first freeze overlapping it), or None."""
        key = (unit, slot)
        if key not in self._frozen:
            self._frozen[key] = None
            span = self.calendar.dates(slot)
            if span is not None:
                first, last = span[0].isoformat(), span[1].isoformat()
                for freeze, servers in freezes:
                    if first <= freeze.end and freeze.start <= last:
                        self._frozen[key] = (f"{describe(freeze)} covers {listed(servers)} and overlaps the slot "
                                             f"{first} to {last}")
                        break
        return self._frozen[key]


def replication(site_data: Mapping[str, float], resources: Resources) -> tuple[float | None, list[tuple[
        str, float, float | None, float | None]]]:
    """(hours of the slowest site, per site (site, GB, Mbit/s, hours)); None when no site's bandwidth is known."""
    rows = []
    for site, gb in sorted(site_data.items()):
        mbps = resources.mbps(site)
        rows.append((site, round(gb, 3), mbps, round(gb * MBIT_PER_GB / mbps / 3600, 2) if mbps else None))
    known = [h for *_, h in rows if h is not None]
    return (max(known) if known else None), rows
