"""Per-wave rows of the report: dates, storage, replication estimate, cost and a risk rating. Pure.

The planner's calendar, bandwidth and zone fields (dates, replication hours per wave, zone use) are shown when
the plan has them (read tolerantly: an older plan lacks them); when it does not, the report says so instead of
inventing them.

Risk (per wave, with its reasons):
- high: a server of the wave depends on a hard port (database, NFS, cache) of a server moving in a later
  wave, or a fifth or more of its servers run an end-of-life OS or failed discovery;
- medium: any end-of-life OS, failed or missing discovery, unknown facts, any dependency on a later wave,
  or a critical server;
- low: none of these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.plan import Plan, Wave
from orchestrator.reporting.model import Blocker, ServerRow, WaveRow

DEFAULT_HARD_PORTS = frozenset({1433, 1521, 2049, 3306, 5432, 6379, 9042, 27017})
HIGH_SHARE = 0.2


def wave_field(wave: Any, *names: str) -> Any:
    """The first of ``names`` the wave has a value for (planner fields may or may not exist yet)."""
    for name in names:
        value = getattr(wave, name, None)
        if value is not None:
            return value
    return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class WaveContext:
    plan: Plan
    servers: Sequence[ServerRow]
    index: Mapping[str, int]
    blockers: Mapping[str, tuple[str, ...]]  # server -> blocker kinds
    currency: str


def _replication(wave: Wave) -> tuple[float | None, str]:
    hours = wave_field(wave, "replication_hours", "replication_estimate_hours")
    if hours is not None:
        return float(hours), "from the plan (the slowest site's data over its bandwidth)"
    sites = getattr(wave, "replication_by_site", ())
    missing = sorted({s.site for s in sites if s.hours is None})
    if missing:
        return None, f"unknown: no bandwidth known for site(s) {', '.join(missing)} ([plan] bandwidth_mbps)"
    return None, "unknown: the plan has no replication estimate (set [plan] bandwidth_mbps in pindah.toml)"


def _zone(wave: Wave, rows: list[ServerRow]) -> str | None:
    zone = wave_field(wave, "zone")
    if zone is not None:
        return str(zone)
    zones = sorted({str(u.zone) for u in getattr(wave, "zone_use", ())} | {r.zone for r in rows if r.zone})
    return ", ".join(zones) or None


def _cost(wave: Wave, rows: list[ServerRow], ctx: WaveContext) -> tuple[float | None, str]:
    if ctx.plan.currency is None:
        return None, "unknown: the plan was made without a catalog.yaml"
    unsized = [r.name for r in rows if r.monthly_cost is None]
    total = wave.monthly_cost if wave.monthly_cost is not None else sum(r.monthly_cost or 0.0 for r in rows)
    if unsized:
        return total, f"{len(unsized)} server(s) without a fitting flavor not counted"
    return total, f"as-is sizing, {ctx.currency}/month"


def _later_dependencies(wave: Wave, ctx: WaveContext) -> tuple[int, int]:
    """(dependencies on servers of later regular waves, of which on hard ports)."""
    members = set(wave.servers)
    hard = set(ctx.plan.rules.hard_ports) if ctx.plan.rules else DEFAULT_HARD_PORTS
    later = hard_later = 0
    for dep in ctx.plan.dependencies:
        if dep.source not in members or dep.target not in ctx.index:
            continue
        target = ctx.servers[ctx.index[dep.target]]
        if target.shared or target.wave is None or target.wave <= wave.index:
            continue
        later += 1
        hard_later += dep.port in hard
    return later, hard_later


def _risk(wave: Wave, rows: list[ServerRow], ctx: WaveContext) -> tuple[str, tuple[str, ...]]:
    kinds = [k for r in rows for k in ctx.blockers.get(r.name, ())]
    eol, failed = kinds.count("eol-os"), kinds.count("discovery-failed")
    missing = kinds.count("not-discovered") + kinds.count("unknown-facts")
    critical = sum(1 for r in rows if r.criticality == "critical" and not r.shared)
    later, hard_later = _later_dependencies(wave, ctx)
    reasons = [text for count, text in (
        (hard_later, f"{hard_later} hard dependencies (database/storage ports) on servers moving later"),
        (later - hard_later, f"{later - hard_later} other dependencies on servers moving later"),
        (eol, f"{eol} server(s) on an end-of-life OS"),
        (failed, f"{failed} server(s) where discovery failed"),
        (missing, f"{missing} server(s) with unknown facts or never discovered"),
        (critical, f"{critical} critical server(s)")) if count]
    size = max(1, len(rows))
    if hard_later or (eol + failed) / size >= HIGH_SHARE:
        return "high", tuple(reasons)
    if reasons:
        return "medium", tuple(reasons)
    return "low", ("no blockers and no dependency on a later wave",)


def wave_rows(ctx: WaveContext) -> tuple[WaveRow, ...]:
    out: list[WaveRow] = []
    for wave in ctx.plan.waves:
        rows = [ctx.servers[ctx.index[s]] for s in wave.servers if s in ctx.index]
        storage = round(sum(r.disk_gb or 0.0 for r in rows), 1)
        hours, replication_basis = _replication(wave)
        cost, cost_basis = _cost(wave, rows, ctx)
        risk, reasons = _risk(wave, rows, ctx)
        out.append(WaveRow(
            index=wave.index, servers=tuple(ctx.index[s] for s in wave.servers if s in ctx.index),
            applications=wave.applications, pilot=wave.pilot, shared=bool(rows) and all(r.shared for r in rows),
            reason=wave.reason, start=_text(wave_field(wave, "start", "start_date", "starts")),
            end=_text(wave_field(wave, "end", "end_date", "ends")), zone=_zone(wave, rows),
            storage_gb=storage, replication_hours=hours, replication_basis=replication_basis,
            monthly_cost=cost, cost_basis=cost_basis, risk=risk, risk_reasons=reasons))
    return tuple(out)


def blocker_kinds(blockers: Sequence[Blocker]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for b in blockers:
        out.setdefault(b.subject, []).append(b.kind)
    return {k: tuple(v) for k, v in out.items()}
