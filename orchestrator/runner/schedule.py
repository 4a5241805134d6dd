"""Which servers of a wave may start now: concurrency limits, failure budget, blocked dependents. Pure.

Servers start in cohorts: a cohort is admitted within the limits (at most ``max_parallel`` servers in
flight, at most ``per_site`` of one site and ``per_zone`` of one target zone), walks the phases together
(one ansible run per phase for the whole cohort), and the next cohort is admitted when it comes to rest.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrator.errors import RunError
from orchestrator.runner.states import UNSUCCESSFUL, ServerState

_BUDGET_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class FailureBudget:
    """How many servers of a wave may fail before no new server starts: a count, or a percentage."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, text: str) -> FailureBudget:
        found = _BUDGET_RE.match(text)
        if not found:
            raise RunError(f"--failure-budget {text!r} is neither a count nor a percentage",
                           hint="e.g. --failure-budget 2 (servers) or --failure-budget 10%")
        number, percent = found.groups()
        if percent:
            value = float(number)
            if value > 100:
                raise RunError(f"--failure-budget {text!r} is more than 100%", hint="e.g. --failure-budget 10%")
            return cls(percent=value)
        if "." in number:
            raise RunError(f"--failure-budget {text!r} must be a whole number of servers",
                           hint="e.g. --failure-budget 2, or a percentage such as 10%")
        return cls(count=int(number))

    def allowed(self, wave_size: int) -> int:
        """The number of failed servers the wave tolerates; one more and it stops starting servers."""
        if self.count is not None:
            return self.count
        return math.floor(wave_size * (self.percent or 0.0) / 100.0)

    def __str__(self) -> str:
        return f"{self.count}" if self.count is not None else f"{self.percent:g}%"


@dataclass(frozen=True)
class Limits:
    max_parallel: int | None = None
    per_site: int | None = None
    per_zone: int | None = None
    failure_budget: FailureBudget | None = None

    def __post_init__(self) -> None:
        for name in ("max_parallel", "per_site", "per_zone"):
            value = getattr(self, name)
            if value is not None and value < 1:
                flag = "--" + name.replace("_", "-")
                raise RunError(f"{flag} must be at least 1, not {value}", hint=f"e.g. {flag} 5, or leave it out")


@dataclass(frozen=True)
class Placement:
    """Where each server lives (site) and lands (target zone), and which servers each depends on."""

    sites: Mapping[str, str]
    zones: Mapping[str, str]
    depends_on: Mapping[str, frozenset[str]]


def failed_count(states: Mapping[str, ServerState]) -> int:
    """Servers that failed on their own (rolled back or failed); blocked ones are not counted again."""
    return sum(1 for st in states.values() if st in UNSUCCESSFUL and st is not ServerState.BLOCKED)


def over_budget(limits: Limits, states: Mapping[str, ServerState]) -> bool:
    if limits.failure_budget is None:
        return False
    return failed_count(states) > limits.failure_budget.allowed(len(states))


def blocked_by(server: str, placement: Placement, states: Mapping[str, ServerState]) -> str | None:
    """The first dependency of ``server`` that did not make it (this wave's or an earlier run's), if any."""
    for dep in sorted(placement.depends_on.get(server, frozenset())):
        state = states.get(dep)
        if state is not None and state in UNSUCCESSFUL:
            return f"depends on {dep}, which is {state}"
    return None


def admit(pending: Sequence[str], in_flight: Sequence[str], limits: Limits, placement: Placement,
          waiting: Sequence[str] = ()) -> list[str]:
    """The pending servers (in wave order) that may start next to ``in_flight`` within the limits.

    A server does not start while one of its dependencies is in flight (or waits for cutover approval):
    it starts with them, or after them, when it is known whether they made it.
    """
    busy = set(in_flight) | set(waiting)
    room = (limits.max_parallel or len(pending) + len(in_flight)) - len(in_flight)
    sites = Counter(placement.sites.get(s, "") for s in in_flight)
    zones = Counter(placement.zones.get(s, "") for s in in_flight)
    chosen: list[str] = []
    for server in pending:
        if len(chosen) >= room:
            break
        if placement.depends_on.get(server, frozenset()) & busy:
            continue
        site, zone = placement.sites.get(server, ""), placement.zones.get(server, "")
        if limits.per_site is not None and sites[site] >= limits.per_site:
            continue
        if limits.per_zone is not None and zones[zone] >= limits.per_zone:
            continue
        chosen.append(server)
        sites[site] += 1
        zones[zone] += 1
    return chosen


def cohorts(servers: Sequence[str], limits: Limits, placement: Placement) -> list[list[str]]:
    """The cohorts a wave would start in if every server succeeded (what ``--check`` shows)."""
    left = list(servers)
    out: list[list[str]] = []
    while left:
        cohort = admit(left, [], limits, placement)
        if not cohort:  # cannot happen with limits >= 1; guards an endless loop
            raise RunError("the concurrency limits admit no server", hint="raise --max-parallel")
        out.append(cohort)
        left = [s for s in left if s not in cohort]
    return out
