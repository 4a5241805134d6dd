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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.errors import PlanError, WorkspaceError
from orchestrator.plan import PlanRules

DEFAULT_PILOT_SERVERS = 5
KEYS = ("max_wave_servers", "max_wave_storage_gb", "pilot_servers", "pilot_criticality", "ramp",
        "separate_environments", "hard_ports", "anti_affinity", "pins")


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
    )
