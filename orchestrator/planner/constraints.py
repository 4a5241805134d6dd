"""Wave constraints from pindah.toml's [plan] section, and the error for constraints that cannot all hold.

Keys (all optional except that max_wave_servers has a default of 25):

    [plan]
    max_wave_servers = 25          # most servers in one wave
    max_wave_storage_gb = 5000     # most disk (GB) in one wave; 0 or absent: no limit
    pilot_servers = 5              # wave 1 is a pilot of at most this many servers, only non-production
                                   # servers of a pilot criticality; 0: no pilot wave
    pilot_criticality = ["low"]    # criticalities allowed in the pilot wave
    ramp = [10, 15]                # server limits of the waves after the pilot, before max_wave_servers
    separate_environments = false  # true: a wave holds only prod or only nonprod servers
    hard_ports = [5432, 3306]      # a dependency on one of these ports is hard: its provider moves in the
                                   # same or an earlier wave than its consumer (default: database ports)
    anti_affinity = [["billing", "payroll"]]   # applications/servers that must be in different waves

    [plan.pins]                    # server or application -> wave number
    "billing" = 3
    "archive01" = 2

Groups, calendar, bandwidth, zones, sizing and strategy (see docs/planning.md for each):

    merge = [["billing", "payroll"]]           # applications that move as one group
    [plan.split.app-web01]                     # take servers out of an application into a group of their own
    reports = ["rpt01", "rpt02"]
    start_date = 2027-01-04                    # wave 1 starts here; wave_days = 7: back-to-back windows
    windows = [["2027-01-04", "2027-01-08"]]   # explicit windows for the first waves (then the cadence)
    end_date = 2027-06-30                      # every wave must end by then
    [[plan.freeze]]                            # servers it covers do not move in waves overlapping it
    name = "budget close"; start = 2027-03-20; end = 2027-04-05; agencies = ["ag001"]
    [plan.bandwidth_mbps]                      # site -> Mbit/s (default_bandwidth_mbps for the others)
    site001 = 200
    [plan.zones.jkt-a]                         # target capacity per wave (per = "month": per calendar month)
    sites = ["site001"]; max_servers = 40; max_vcpu = 160; max_memory_gb = 640
    sizing_percentile = 95; sizing_comfort = 1.3; sizing_min_samples = 12
    [plan.strategy]                            # server or application -> rehost|replatform|retire|retain|consolidate
    legacy01 = "retain"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from orchestrator.errors import PlanError, WorkspaceError
from orchestrator.plan import Freeze, GroupSplit, PlanRules, Zone
from orchestrator.planner.strategy import STRATEGIES

DEFAULT_PILOT_SERVERS = 5
KEYS = ("max_wave_servers", "max_wave_storage_gb", "pilot_servers", "pilot_criticality", "ramp",
        "separate_environments", "hard_ports", "anti_affinity", "pins", "merge", "split", "start_date", "wave_days",
        "windows", "end_date", "freeze", "bandwidth_mbps", "default_bandwidth_mbps", "zones", "sizing_percentile",
        "sizing_comfort", "sizing_min_samples", "strategy")
FREEZE_KEYS = ("name", "start", "end", "agencies", "applications", "servers", "sites")
ZONE_KEYS = ("sites", "max_servers", "max_vcpu", "max_memory_gb", "per")


class InfeasiblePlan(PlanError):
    """The constraints cannot all hold; names the servers/applications and constraints in conflict."""

    def __init__(self, message: str, *, items: Sequence[str], constraints: Sequence[str], hint: str) -> None:
        super().__init__(message, hint=hint)
        self.items = tuple(items)
        self.constraints = tuple(constraints)


def _bad(key: str, want: str, value: object) -> WorkspaceError:
    return WorkspaceError(f"[plan] {key} in pindah.toml must be {want}, got {value!r}",
                          hint="fix pindah.toml; the keys are described in docs/planning.md")


def _whole(key: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(key, f"a whole number >= {minimum}", value)
    return value


def _list(key: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(key, "a list", value)
    return value


def _names(key: str, value: object) -> tuple[str, ...]:
    items = _list(key, value)
    if not all(isinstance(v, str) and v for v in items):
        raise _bad(key, "a list of names", value)
    return tuple(items)


def _storage(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _bad("max_wave_storage_gb", "a number >= 0", value)
    return float(value) or None


def _pins(value: object) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, Mapping):
        raise _bad("pins", "a table of name = wave number", value)
    return tuple(sorted((str(k), _whole(f"pins.{k}", v, 1)) for k, v in value.items()))


def _date(key: str, value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise _bad(key, "a date (2027-01-04)", value)


def _number(key: str, value: object, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= minimum:
        raise _bad(key, f"a number > {minimum:g}", value)
    return float(value)


def _table(key: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(key, "a table", value)
    return value


def _windows(value: object) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for item in _list("windows", value):
        if not isinstance(item, list) or len(item) != 2:
            raise _bad("windows", "a list of [start, end] dates", item)
        start, end = _date("windows", item[0]), _date("windows", item[1])
        if end < start or (out and start <= out[-1][1]):
            raise _bad("windows", "[start, end] pairs, each ending on or after its start and starting after the "
                       "previous one ends", item)
        out.append((start, end))
    return tuple(out)


def _freezes(value: object) -> tuple[Freeze, ...]:
    out = []
    for i, raw in enumerate(_list("freeze", value), 1):
        item = _table(f"freeze #{i}", raw)
        unknown = sorted(set(item) - set(FREEZE_KEYS))
        if unknown or "start" not in item or "end" not in item:
            raise _bad(f"freeze #{i}", f"a table with start, end and optionally {', '.join(FREEZE_KEYS[3:])}, "
                       "name", dict(item))
        start, end = _date(f"freeze #{i} start", item["start"]), _date(f"freeze #{i} end", item["end"])
        if end < start:
            raise _bad(f"freeze #{i}", "an end on or after its start", dict(item))
        out.append(Freeze(name=str(item.get("name", f"freeze #{i}")), start=start, end=end,
                          **{k: _names(f"freeze #{i} {k}", item.get(k, [])) for k in FREEZE_KEYS[3:]}))
    return tuple(out)


def _zones(value: object) -> tuple[Zone, ...]:
    out = []
    for name, raw in sorted(_table("zones", value).items()):
        item = _table(f"zones.{name}", raw)
        unknown = sorted(set(item) - set(ZONE_KEYS))
        if unknown:
            raise _bad(f"zones.{name}", f"a table of {', '.join(ZONE_KEYS)}", dict(item))
        per = item.get("per", "wave")
        if per not in ("wave", "month"):
            raise _bad(f"zones.{name}.per", '"wave" or "month"', per)
        memory = item.get("max_memory_gb")
        out.append(Zone(name=name, sites=_names(f"zones.{name}.sites", item.get("sites", [])), per=per,
                        max_servers=_whole(f"zones.{name}.max_servers", item["max_servers"], 1)
                        if "max_servers" in item else None,
                        max_vcpu=_whole(f"zones.{name}.max_vcpu", item["max_vcpu"], 1) if "max_vcpu" in item else None,
                        max_memory_gb=_number(f"zones.{name}.max_memory_gb", memory) if memory is not None else None))
    return tuple(out)


def _splits(value: object) -> tuple[GroupSplit, ...]:
    out = []
    for app, parts in sorted(_table("split", value).items()):
        for name, servers in sorted(_table(f"split.{app}", parts).items()):
            out.append(GroupSplit(application=app, name=name, servers=tuple(sorted(_names(f"split.{app}.{name}",
                                                                                           servers)))))
    return tuple(out)


def _strategies(value: object) -> tuple[tuple[str, str], ...]:
    out = []
    for name, kind in sorted(_table("strategy", value).items()):
        if kind not in STRATEGIES:
            raise _bad(f"strategy.{name}", f"one of {', '.join(STRATEGIES)}", kind)
        out.append((name, str(kind)))
    return tuple(out)


def _calendar(section: Mapping[str, Any]) -> dict[str, Any]:
    bandwidth = _table("bandwidth_mbps", section.get("bandwidth_mbps", {}))
    default = section.get("default_bandwidth_mbps")
    out: dict[str, Any] = {
        "start_date": _date("start_date", section["start_date"]) if "start_date" in section else None,
        "wave_days": _whole("wave_days", section.get("wave_days", 7), 1),
        "windows": _windows(section.get("windows", [])),
        "end_date": _date("end_date", section["end_date"]) if "end_date" in section else None,
        "freezes": _freezes(section.get("freeze", [])),
        "bandwidth_mbps": tuple(sorted((str(k), _number(f"bandwidth_mbps.{k}", v)) for k, v in bandwidth.items())),
        "default_bandwidth_mbps": _number("default_bandwidth_mbps", default) if default is not None else None,
        "zones": _zones(section.get("zones", {})),
    }
    if out["windows"] and out["start_date"] and out["start_date"] != out["windows"][0][0]:
        raise _bad("start_date", f"absent or the first window's start {out['windows'][0][0]}", out["start_date"])
    if (out["end_date"] or out["freezes"]) and not (out["start_date"] or out["windows"]):
        raise WorkspaceError("[plan] end_date and freeze need dates for the waves",
                             hint="set [plan] start_date (and wave_days) or windows in pindah.toml")
    return out


def _sizing(section: Mapping[str, Any]) -> dict[str, Any]:
    pct = _number("sizing_percentile", section.get("sizing_percentile", 95))
    if pct > 100:
        raise _bad("sizing_percentile", "a number in (0, 100]", pct)
    return {"sizing_percentile": pct, "sizing_comfort": _number("sizing_comfort", section.get("sizing_comfort", 1.3)),
            "sizing_min_samples": _whole("sizing_min_samples", section.get("sizing_min_samples", 12), 1),
            "strategy": _strategies(section.get("strategy", {}))}


def rules_from_config(section: Mapping[str, Any], max_wave_servers: int | None = None) -> PlanRules:
    """PlanRules from a [plan] table; ``max_wave_servers`` (the CLI option) wins over the file."""
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise WorkspaceError(f"unknown key(s) in pindah.toml [plan]: {', '.join(unknown)}",
                             hint=f"known keys: {', '.join(KEYS)}")
    limit = max_wave_servers or _whole("max_wave_servers", section.get("max_wave_servers", 25), 1)
    pairs = [_names("anti_affinity", group) for group in _list("anti_affinity", section.get("anti_affinity", []))]
    if any(len(group) < 2 for group in pairs):
        raise _bad("anti_affinity", "a list of lists of at least two names", section.get("anti_affinity"))
    separate = section.get("separate_environments", False)
    if not isinstance(separate, bool):
        raise _bad("separate_environments", "true or false", separate)
    return PlanRules(
        max_wave_servers=limit,
        max_wave_storage_gb=_storage(section.get("max_wave_storage_gb", 0)),
        pilot_servers=_whole("pilot_servers", section.get("pilot_servers", DEFAULT_PILOT_SERVERS), 0),
        pilot_criticality=_names("pilot_criticality", section.get("pilot_criticality", ["low"])),
        ramp=tuple(_whole("ramp", v, 1) for v in _list("ramp", section.get("ramp", []))),
        separate_environments=separate,
        hard_ports=tuple(sorted({_whole("hard_ports", v, 0) for v in _list(
            "hard_ports", section.get("hard_ports", list(PlanRules.model_fields["hard_ports"].default)))})),
        pins=_pins(section.get("pins", {})),
        anti_affinity=tuple(sorted(tuple(sorted(set(g))) for g in pairs)),
        merge=_merges(section.get("merge", [])),
        split=_splits(section.get("split", {})),
        **_calendar(section),
        **_sizing(section),
    )


def _merges(value: object) -> tuple[tuple[str, ...], ...]:
    groups = [tuple(sorted(set(_names("merge", g)))) for g in _list("merge", value)]
    if any(len(g) < 2 for g in groups):
        raise _bad("merge", "a list of lists of at least two application names", value)
    return tuple(sorted(groups))
