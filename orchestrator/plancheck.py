"""`pindah plan check`: does an approved plan still hold for the latest discovery?

Pure core (:func:`findings`) over the plan and the current planner inputs; :func:`check_plan` reads the
workspace. A finding of severity ``drift`` means the plan no longer matches reality (CI fails, exit 4);
``info`` findings are worth reading but do not invalidate the plan.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from orchestrator.approval import plan_state
from orchestrator.errors import PlanError
from orchestrator.plan import Plan, load_plan
from orchestrator.planner import PlannerInputs, build_inputs
from orchestrator.planner.calendar import MBIT_PER_GB
from orchestrator.planner.inputs import EdgeInput, ServerInput
from orchestrator.runner.states import ServerState
from orchestrator.store import Store
from orchestrator.workspace import Workspace

EXIT_VALID, EXIT_ERROR, EXIT_DRIFTED = 0, 1, 4
SIZE_CHANGE = 0.10  # a disk, cpu or memory change beyond 10% is reported
Kind = Literal["approval", "server", "dependency", "capacity", "size", "inputs"]
KINDS: tuple[Kind, ...] = ("approval", "server", "dependency", "capacity", "size", "inputs")


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    severity: Literal["drift", "info"]
    subject: str
    message: str
    wave: int | None = None


class CheckResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    plan_id: str
    snapshot_id: int
    snapshot_at: str
    approved_by: str | None
    findings: tuple[Finding, ...]

    @property
    def drifted(self) -> bool:
        return any(f.severity == "drift" for f in self.findings)

    @property
    def exit_code(self) -> int:
        return EXIT_DRIFTED if self.drifted else EXIT_VALID


def server_findings(plan: Plan, current: dict[str, ServerInput], migrated: frozenset[str] = frozenset()
                    ) -> list[Finding]:
    """Planned servers gone or silent (expected, so info, once a run moved them) and servers that appeared."""
    out: list[Finding] = []
    for planned in plan.servers:
        now = current.get(planned.name)
        if planned.name in migrated and (now is None or now.reachable is False):
            out.append(Finding(kind="server", severity="info", subject=planned.name, wave=planned.wave,
                               message=f"{planned.name} (wave {planned.wave}) was migrated: its source is no "
                                       "longer seen by discovery"))
        elif now is None:
            out.append(Finding(kind="server", severity="drift", subject=planned.name, wave=planned.wave,
                               message=f"{planned.name} (wave {planned.wave}) is gone: not in the latest "
                                       "discovery nor the imported servers"))
        elif now.reachable is False:
            out.append(Finding(kind="server", severity="drift", subject=planned.name, wave=planned.wave,
                               message=f"{planned.name} (wave {planned.wave}) did not answer the latest "
                                       "discovery: stopped, removed or unreachable"))
    planned_names = {s.name for s in plan.servers}
    for name in sorted(set(current) - planned_names):
        if current[name].reachable is not False:
            out.append(Finding(kind="server", severity="drift", subject=name,
                               message=f"{name} appeared: discovered or imported, but in no wave of the plan"))
    return out


def _edge_message(edge: EdgeInput, consumer_wave: int, provider_wave: int, hard: bool) -> str:
    text = (f"new dependency {edge.source} (wave {consumer_wave}) -> {edge.target}:{edge.port} "
            f"(wave {provider_wave}) crosses waves")
    if provider_wave > consumer_wave:
        text += ": the provider would move after its consumer"
    if hard:
        text += f" (port {edge.port} is a hard dependency)"
    return text


def dependency_findings(plan: Plan, edges: Iterable[EdgeInput]) -> list[Finding]:
    """Dependencies that were not in the plan: drift when they cross waves, info inside one wave."""
    wave_of = {s.name: s.wave for s in plan.servers}
    known = {(d.source, d.target, d.port) for d in plan.dependencies}
    hard_ports = set(plan.rules.hard_ports) if plan.rules else set()
    out: list[Finding] = []
    for edge in edges:
        if (edge.source, edge.target, edge.port) in known:
            continue
        consumer, provider = wave_of.get(edge.source), wave_of.get(edge.target)
        if consumer is None or provider is None:
            continue  # an appeared server: reported as such
        subject = f"{edge.source} -> {edge.target}:{edge.port}"
        if consumer == provider:
            out.append(Finding(kind="dependency", severity="info", subject=subject, wave=consumer,
                               message=f"new dependency {subject} inside wave {consumer}"))
        else:
            out.append(Finding(kind="dependency", severity="drift", subject=subject, wave=consumer,
                               message=_edge_message(edge, consumer, provider, edge.port in hard_ports)))
    return out


def _changed(before: float | None, after: float | None) -> bool:
    if before is None or after is None or before == after:
        return False
    return abs(after - before) > SIZE_CHANGE * max(abs(before), 1e-9)


def size_findings(plan: Plan, current: dict[str, ServerInput]) -> list[Finding]:
    """Per-server size changes (info) and waves whose storage now exceeds the plan's limit (drift)."""
    out: list[Finding] = []
    for planned in plan.servers:
        now = current.get(planned.name)
        if now is not None and _changed(planned.disk_gb, now.disk_gb):
            out.append(Finding(kind="size", severity="info", subject=planned.name, wave=planned.wave,
                               message=f"{planned.name}: disk {planned.disk_gb:g} GB -> {now.disk_gb:g} GB"))
        if now is not None and _changed(planned.data_gb, now.data_gb):
            out.append(Finding(kind="size", severity="info", subject=planned.name, wave=planned.wave,
                               message=f"{planned.name}: data {planned.data_gb:g} GB -> {now.data_gb:g} GB"))
    out += replication_findings(plan, current)
    limit = plan.rules.max_wave_storage_gb if plan.rules else None
    if not limit:
        return out
    disk = {s.name: s.disk_gb for s in plan.servers}
    for wave in plan.waves:
        before = sum(disk.get(n) or 0.0 for n in wave.servers)
        after = sum((current[n].disk_gb if n in current and current[n].disk_gb is not None else disk.get(n))
                    or 0.0 for n in wave.servers)
        if after > limit >= before:
            out.append(Finding(kind="capacity", severity="drift", subject=f"wave {wave.index}", wave=wave.index,
                               message=f"wave {wave.index} now holds {after:g} GB of disk, over the "
                                       f"{limit:g} GB limit it was planned under ({before:g} GB then)"))
    return out


def replication_findings(plan: Plan, current: dict[str, ServerInput]) -> list[Finding]:
    """Waves whose data at a site no longer replicates within the wave's window at the site's bandwidth."""
    servers = {s.name: s for s in plan.servers}
    out: list[Finding] = []
    for wave in plan.waves:
        if not wave.window_hours:
            continue
        for site in wave.replication_by_site:
            if not site.mbps:
                continue
            gb = sum((current[n].data_gb if n in current and current[n].data_gb is not None
                      else servers[n].data_gb) or 0.0
                     for n in wave.servers if (servers[n].site or "(no site)") == site.site)
            hours = gb * MBIT_PER_GB / site.mbps / 3600
            if hours > wave.window_hours >= (site.hours or 0.0):
                out.append(Finding(kind="capacity", severity="drift", subject=f"wave {wave.index}",
                                   wave=wave.index,
                                   message=f"wave {wave.index}: site {site.site} now has {gb:g} GB to replicate, "
                                           f"{hours:.1f} h at {site.mbps:g} Mbit/s, over the wave's "
                                           f"{wave.window_hours:g} h window ({site.data_gb:g} GB when planned)"))
    return out


def findings(plan: Plan, current: PlannerInputs, migrated: frozenset[str] = frozenset()) -> list[Finding]:
    """Everything that changed between the plan and the current inputs, drift first."""
    servers = {s.name: s for s in current.servers}
    found = [*server_findings(plan, servers, migrated), *dependency_findings(plan, current.edges),
             *size_findings(plan, servers)]
    digest = current.digest()
    if digest != plan.input_digest:
        found.append(Finding(kind="inputs", severity="info", subject=plan.id,
                             message=f"inputs changed since planning ({plan.input_digest[:19]} -> "
                                     f"{digest[:19]}): 'pindah run' refuses the plan as stale"))
    return sorted(found, key=lambda f: (f.severity != "drift", KINDS.index(f.kind), f.subject))


def check_plan(ws: Workspace, plan_id: str) -> CheckResult:
    """Re-evaluate plans/<plan_id>.yaml against the latest discovery snapshot and the imports."""
    plan = load_plan(ws.plans_dir, plan_id)
    with Store.open(ws.db_path) as store:
        snapshot = store.latest_snapshot()
        if snapshot is None:
            raise PlanError(f"no discovery to check plan {plan_id} against",
                            hint="run 'pindah discover -i INVENTORY' first")
        current = build_inputs(store.snapshot_facts(snapshot.id), store.servers(), store.dependencies())
        state = plan_state(ws, plan_id, store, None)
        migrated = frozenset(r.server for r in store.run_servers(plan_id) if r.state == ServerState.DONE)
    found = findings(plan, current, migrated)
    if state.approval is None and state.voided:
        found.insert(0, Finding(kind="approval", severity="drift", subject=plan_id, message=state.problems()[0]))
    elif state.approval is None:
        found.append(Finding(kind="approval", severity="info", subject=plan_id,
                             message=f"plan {plan_id} is not approved yet"))
    return CheckResult(plan_id=plan_id, snapshot_id=snapshot.id, snapshot_at=snapshot.created_at,
                       approved_by=state.approval.approver if state.approval else None, findings=tuple(found))


def junit_xml(result: CheckResult) -> str:
    """One test suite for the plan, one test case per kind of check; drift findings are failures."""
    drift = [f for f in result.findings if f.severity == "drift"]
    suite = ET.Element("testsuite", name=f"pindah plan check {result.plan_id}", tests=str(len(KINDS)),
                       failures=str(len({f.kind for f in drift})), errors="0", timestamp=result.snapshot_at)
    for kind in KINDS:
        case = ET.SubElement(suite, "testcase", classname=f"pindah.plan.{result.plan_id}", name=kind)
        failing = [f for f in drift if f.kind == kind]
        if failing:
            failure = ET.SubElement(case, "failure", message=failing[0].message, type="drift")
            failure.text = "\n".join(f.message for f in failing)
        infos = [f.message for f in result.findings if f.kind == kind and f.severity == "info"]
        if infos:
            ET.SubElement(case, "system-out").text = "\n".join(infos)
    root = ET.Element("testsuites", name="pindah")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
