"""The Markdown status report: estate, plan, run state. ``render_report`` is pure (data in, text out)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from discovery.facts import HostFacts
from orchestrator.errors import WorkspaceError
from orchestrator.plan import Plan, load_plan
from orchestrator.planner.markdown import md_cell, md_table, wave_storage_gb
from orchestrator.planning import newest_plan
from orchestrator.runner.states import UNSUCCESSFUL, ServerState
from orchestrator.store import Store
from orchestrator.workspace import Workspace

FAILED_STATES = frozenset(s.value for s in UNSUCCESSFUL)  # failed, rolled back, blocked
STATE_ORDER = {state.value: i for i, state in enumerate(ServerState)}
ERROR_TAIL = 300


@dataclass(frozen=True)
class RunRow:
    plan_id: str
    wave: int
    server: str
    state: str
    phase: str | None
    error: str | None


@dataclass(frozen=True)
class ReportData:
    generated_at: str
    discovered: int = 0
    reachable: int = 0
    unreachable: int = 0
    imported: int = 0
    by_os: Mapping[str, int] = field(default_factory=dict)
    by_site: Mapping[str, int] = field(default_factory=dict)
    plan: Plan | None = None
    runs: tuple[RunRow, ...] = ()


def summarise(generated_at: str, facts: Iterable[HostFacts], imported: Mapping[str, Mapping[str, Any]],
              plan: Plan | None, runs: Iterable[RunRow]) -> ReportData:
    """Counts for the report from the store's latest facts, imported servers and run rows."""
    facts = list(facts)
    os_of: dict[str, str] = {name: str(data.get("os") or "") for name, data in imported.items()}
    for host in facts:
        if host.os is not None:
            os_of[host.name] = host.os.pretty_name or f"{host.os.name} {host.os.version_id}".strip()
        else:
            os_of.setdefault(host.name, "")
    sites = Counter(str(data.get("site") or "unknown") for data in imported.values())
    sites["unknown"] += len({h.name for h in facts} - set(imported))
    return ReportData(
        generated_at=generated_at,
        discovered=len(facts),
        reachable=sum(1 for h in facts if h.reachable),
        unreachable=sum(1 for h in facts if not h.reachable),
        imported=len(imported),
        by_os=dict(Counter(v or "unknown" for v in os_of.values())),
        by_site={k: v for k, v in sites.items() if v},
        plan=plan,
        runs=tuple(r for r in runs if plan is None or r.plan_id == plan.id),
    )


def _counts(title: str, counts: Mapping[str, int]) -> list[str]:
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [f"### {title}", "", *md_table([title.rsplit(maxsplit=1)[-1], "servers"], rows), ""]


def _estate(data: ReportData) -> list[str]:
    lines = ["## Estate", "",
             f"- discovered hosts: {data.discovered} ({data.reachable} reachable, "
             f"{data.unreachable} unreachable at the latest discovery)",
             f"- imported servers: {data.imported}", ""]
    return lines + _counts("by OS", data.by_os) + _counts("by site", data.by_site)


def _plan(plan: Plan | None) -> list[str]:
    if plan is None:
        return ["## Plan", "", "no plan yet: run 'pindah plan create'", ""]
    storage = wave_storage_gb(plan)
    lines = ["## Plan", "", f"- id: {md_cell(plan.id)} (created {md_cell(plan.created_at)})",
             f"- input digest: `{plan.input_digest}`",
             f"- {len(plan.servers)} servers, {len(plan.applications)} applications, {len(plan.waves)} waves "
             f"(limit {plan.max_wave_servers} per wave), cross-wave weight {plan.cross_wave_weight:g}",
             f"- oversized: {md_cell(', '.join(plan.oversized) or 'none')}", ""]
    lines += md_table(["wave", "servers", "applications", "storage GB"],
                      [(w.index, len(w.servers), ", ".join(w.applications), f"{storage[w.index]:,.1f}")
                       for w in plan.waves])
    return [*lines, ""]


def _runs(runs: tuple[RunRow, ...]) -> list[str]:
    lines = ["## Run state", ""]
    if not runs:
        return [*lines, "no runs yet", ""]
    states = sorted({r.state for r in runs}, key=lambda s: (STATE_ORDER.get(s, len(STATE_ORDER)), s))
    per_wave: dict[tuple[str, int], Counter[str]] = {}
    for row in runs:
        per_wave.setdefault((row.plan_id, row.wave), Counter())[row.state] += 1
    lines += md_table(["plan", "wave", *states],
                      [(p, w, *(c.get(s, 0) for s in states)) for (p, w), c in sorted(per_wave.items())])
    failed = [r for r in runs if r.state in FAILED_STATES or r.error]
    lines += ["", "### Failed servers", ""]
    if not failed:
        return [*lines, "none", ""]
    lines += md_table(["server", "wave", "state", "phase", "last error"],
                      [(r.server, r.wave, r.state, r.phase or "", (r.error or "")[-ERROR_TAIL:]) for r in failed])
    return [*lines, ""]


def render_report(data: ReportData) -> str:
    lines = ["# pindah report", "", f"generated {md_cell(data.generated_at)}", ""]
    lines += _estate(data) + _plan(data.plan) + _runs(data.runs)
    return "\n".join(lines).rstrip("\n") + "\n"


def write_report(ws: Workspace, *, output: Path | None = None, plan_id: str | None = None,
                 now: datetime | None = None) -> Path:
    """Collect, render and write the report; returns the path written."""
    moment = now or datetime.now(UTC)
    plan = load_plan(ws.plans_dir, plan_id) if plan_id else newest_plan(ws)
    with Store.open(ws.db_path) as store:
        runs = [RunRow(r.plan_id, r.wave, r.server, r.state, r.phase, r.error) for r in store.run_servers()]
        data = summarise(moment.isoformat(timespec="seconds"), store.latest_facts(), store.servers(), plan, runs)
    path = output or ws.root / "reports" / f"report-{moment.strftime('%Y%m%d-%H%M%S')}.md"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_report(data), encoding="utf-8")
    except OSError as exc:
        raise WorkspaceError(f"cannot write the report to {path}: {exc.strerror}",
                             hint="pass -o FILE with a writable path") from exc
    return path
