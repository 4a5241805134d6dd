"""Build the report model from what the workspace knows. Pure: servers, plan, facts and run rows in, Report out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from discovery.facts import Completeness, HostFacts
from orchestrator.plan import Plan, PlannedServer
from orchestrator.planner.inputs import SHARED_ROLE, ServerInput
from orchestrator.planner.strategy import EOL_OS
from orchestrator.report import RunRow
from orchestrator.reporting.graph import build_graph
from orchestrator.reporting.model import (
    Blocker,
    Costs,
    Count,
    Estate,
    FailedServer,
    Report,
    Runs,
    ServerRow,
    WaveProgress,
)
from orchestrator.reporting.waves import WaveContext, blocker_kinds, wave_rows
from orchestrator.runner.states import UNSUCCESSFUL, ServerState

ERROR_TAIL = 300
STATE_ORDER = {state.value: i for i, state in enumerate(ServerState)}
UNSUCCESSFUL_VALUES = frozenset(s.value for s in UNSUCCESSFUL)  # failed, rolled back, blocked


@dataclass(frozen=True)
class OnPremCost:
    """What running a server on-premises costs per month (pindah.toml [report]), in the plan's currency."""

    server_month: float
    gb_month: float = 0.0


@dataclass(frozen=True)
class ReportSources:
    generated_at: str
    servers: Sequence[ServerInput]  # the merged inventory (imported + discovered)
    plan: Plan | None = None
    facts: Sequence[HostFacts] = ()
    runs: Sequence[RunRow] = ()
    onprem: OnPremCost | None = None
    currency: str = "IDR"


def _eol(server: ServerInput, facts: HostFacts | None, planned: PlannedServer | None) -> bool | None:
    if facts is not None and facts.eol is not None and facts.eol.status != "unknown":
        return facts.eol.status == "eol"
    if planned is not None and planned.strategy == "replatform" and "end-of-life" in planned.strategy_reason:
        return True
    known = getattr(server, "os_eol", None)  # discovery's EOL table, carried by the planner inputs
    if known is not None:
        return bool(known)
    if not server.os:
        return None
    return bool(EOL_OS.search(server.os))


def _row(server: ServerInput, facts: HostFacts | None, planned: PlannedServer | None) -> ServerRow:
    return ServerRow(
        name=server.name, address=server.address, application=planned.application if planned else server.application,
        wave=planned.wave if planned else None, site=server.site, agency=server.agency,
        environment=server.environment, criticality=server.criticality,
        shared=(planned.role if planned else server.role) == SHARED_ROLE, os=server.os,
        eol=_eol(server, facts, planned), cpu_count=server.cpu_count, memory_mb=server.memory_mb,
        disk_gb=server.disk_gb if server.disk_gb is not None else (planned.disk_gb if planned else None),
        strategy=planned.strategy if planned else None, flavor=planned.flavor if planned else None,
        monthly_cost=planned.monthly_cost if planned else None, discovered=server.discovered,
        zone=getattr(planned, "zone", None),
        reachable=server.reachable)


def _counts(values: Iterable[str | None]) -> tuple[Count, ...]:
    counts = Counter(v or "unknown" for v in values)
    return tuple(Count(name=k, servers=v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _estate(rows: Sequence[ServerRow]) -> Estate:
    return Estate(
        servers=len(rows), discovered=sum(r.discovered for r in rows),
        reachable=sum(1 for r in rows if r.reachable), unreachable=sum(1 for r in rows if r.reachable is False),
        imported=0, eol_servers=sum(1 for r in rows if r.eol), eol_unknown=sum(1 for r in rows if r.eol is None),
        by_os=_counts(r.os for r in rows), eol_os=tuple(sorted({r.os for r in rows if r.eol and r.os})),
        by_site=_counts(r.site for r in rows), by_agency=_counts(r.agency for r in rows),
        by_application=_counts(r.application for r in rows))


def _unknown_facts(row: ServerRow, facts: HostFacts | None) -> list[str]:
    missing = [n for n, v in (("os", row.os), ("cpu", row.cpu_count), ("memory", row.memory_mb),
                              ("disk", row.disk_gb)) if v is None]
    if facts is not None:
        missing += sorted(f"{k} ({v.value})" for k, v in facts.completeness.items() if v != Completeness.COMPLETE)
    return missing


def _server_blockers(row: ServerRow, facts: HostFacts | None, sized: bool) -> list[Blocker]:
    out: list[Blocker] = []

    def add(kind: str, detail: str) -> None:
        out.append(Blocker(kind=kind, subject=row.name, wave=row.wave, detail=detail))

    if row.eol:
        add("eol-os", f"{row.os or 'operating system'} is end-of-life (strategy {row.strategy or 'not planned'})")
    if row.reachable is False:
        errors = facts.errors if facts is not None else ()
        add("discovery-failed", "; ".join(e.message for e in errors)[:ERROR_TAIL] or "unreachable at discovery")
    elif not row.discovered:
        add("not-discovered", "imported but never discovered: its facts are what the import declared")
    missing = _unknown_facts(row, facts) if row.reachable is not False else []
    if missing:
        add("unknown-facts", "unknown: " + ", ".join(missing))
    if sized and row.wave is not None and row.flavor is None:
        add("no-flavor", "no catalog flavor fits its CPU and memory: size it by hand")
    return out


def _blockers(rows: Sequence[ServerRow], facts: dict[str, HostFacts], plan: Plan | None) -> tuple[Blocker, ...]:
    sized = plan is not None and plan.currency is not None
    out = [b for r in rows for b in _server_blockers(r, facts.get(r.name), sized)]
    if plan is not None:
        apps = {a.name: a for a in plan.applications}
        out += [Blocker(kind="oversized", subject=name, wave=apps[name].wave if name in apps else None,
                        detail=f"{len(apps[name].servers) if name in apps else '?'} servers: more than one wave "
                               "holds; it moves alone") for name in plan.oversized]
    return tuple(out)


def _costs(rows: Sequence[ServerRow], src: ReportSources) -> Costs:
    plan, currency = src.plan, (src.plan.currency if src.plan and src.plan.currency else src.currency)
    sized = [r for r in rows if r.flavor is not None]
    planned = [r for r in rows if r.wave is not None]
    if plan is None or plan.currency is None:
        cloud, cloud_basis = None, "unknown: no plan made with a catalog.yaml (as-is sizing needs one)"
    else:
        cloud = plan.monthly_cost if plan.monthly_cost is not None else sum(r.monthly_cost or 0 for r in rows)
        unsized = len(planned) - len(sized)
        cloud_basis = f"as-is sizing of {len(sized)} servers" + (f"; {unsized} without a fitting flavor not counted"
                                                                  if unsized else "")
    disk = sum(r.disk_gb or 0.0 for r in rows)
    if src.onprem is not None:
        onprem: float | None = round(len(rows) * src.onprem.server_month + disk * src.onprem.gb_month, 2)
        storage = f" + {disk:,.0f} GB x {src.onprem.gb_month:,.0f}" if src.onprem.gb_month else ""
        onprem_basis = (f"{len(rows)} servers x {src.onprem.server_month:,.0f}{storage} {currency}/month "
                        "([report] in pindah.toml)")
    else:
        onprem, onprem_basis = None, "unknown: set [report] onprem_server_month (and onprem_gb_month) in pindah.toml"
    unsized_servers = len(planned) - len(sized) if plan is not None and plan.currency is not None else 0
    return Costs(currency=currency, cloud_monthly=cloud, cloud_basis=cloud_basis, onprem_monthly=onprem,
                 onprem_basis=onprem_basis, sized_servers=len(sized), unsized_servers=unsized_servers,
                 vcpu=sum(r.cpu_count or 0 for r in rows),
                 memory_gb=round(sum(r.memory_mb or 0 for r in rows) / 1024, 1), disk_gb=round(disk, 1),
                 unknown_size=sum(1 for r in rows if None in (r.cpu_count, r.memory_mb, r.disk_gb)),
                 by_flavor=_counts(r.flavor for r in sized),
                 by_month=tuple((str(m), float(v)) for m, v in getattr(plan, "monthly_cost_by_month", ()) or ()))


def _runs(runs: Sequence[RunRow], plan: Plan | None) -> Runs | None:
    rows = [r for r in runs if plan is None or r.plan_id == plan.id]
    if not rows:
        return None
    per_wave: dict[int, Counter[str]] = {}
    for row in rows:
        per_wave.setdefault(row.wave, Counter())[row.state] += 1
    waves = tuple(WaveProgress(
        wave=w, total=sum(c.values()), done=c.get(ServerState.DONE.value, 0),
        failed=sum(c.get(u, 0) for u in UNSUCCESSFUL_VALUES),
        states=tuple(Count(name=s, servers=n) for s, n in sorted(c.items(), key=lambda kv: STATE_ORDER.get(kv[0], 99))))
        for w, c in sorted(per_wave.items()))
    failed = tuple(FailedServer(server=r.server, wave=r.wave, state=r.state, phase=r.phase,
                                error=(r.error or "")[-ERROR_TAIL:] or None)
                   for r in rows if r.state in UNSUCCESSFUL_VALUES or r.error)
    return Runs(waves=waves, failed=failed, total=len(rows), done=sum(w.done for w in waves))


def build_report(src: ReportSources) -> Report:
    plan = src.plan
    planned = {s.name: s for s in plan.servers} if plan else {}
    facts = {f.name: f for f in src.facts}
    inputs = {s.name: s for s in src.servers}
    for name, p in planned.items():  # a planned server no longer in the inventory still shows
        inputs.setdefault(name, ServerInput(name=name, address=p.address, application=p.application, site=p.site,
                                            environment=p.environment, role=p.role, disk_gb=p.disk_gb))
    states = {r.server: r.state for r in src.runs if plan is None or r.plan_id == plan.id}
    rows = tuple(_row(inputs[n], facts.get(n), planned.get(n)).model_copy(update={"state": states.get(n)})
                 for n in sorted(inputs))
    index = {r.name: i for i, r in enumerate(rows)}
    estate = _estate(rows).model_copy(update={"imported": sum(1 for s in src.servers if s.imported)})
    blockers = _blockers(rows, facts, plan)
    waves = wave_rows(WaveContext(plan, rows, index, blocker_kinds(blockers), src.currency)
                      ) if plan else ()
    return Report(
        generated_at=src.generated_at, plan_id=plan.id if plan else None,
        plan_created_at=plan.created_at if plan else None, input_digest=plan.input_digest if plan else None,
        notes=plan.notes if plan else (), estate=estate, servers=rows,
        graph=build_graph(plan, index, [r.site for r in rows]), waves=waves,
        dated=bool(waves) and all(w.start and w.end for w in waves), costs=_costs(rows, src), blockers=blockers,
        runs=_runs(src.runs, plan))
