"""The library entry points the CLI calls: run (or resume, or check) one wave of a plan.

One wave runs at a time per workspace (a :class:`~orchestrator.runner.lock.WaveLock`). The latest run of a
wave that did not finish (killed, interrupted, paused before cutover, halted by its failure budget) is
resumed, by ``--resume`` or by running the same command again; otherwise a new run takes every server of
the wave that is not done yet.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.cloud import CloudSettings, load_cloud_settings
from orchestrator.errors import RunError
from orchestrator.plan import Plan, load_plan
from orchestrator.runner.engine import WaveEngine, WaveObserver, WaveRequest, WaveResult
from orchestrator.runner.hostvars import wave_context
from orchestrator.runner.lock import WaveLock
from orchestrator.runner.playbook import AnsibleRunnerPlaybooks, PlaybookRunner, reap_orphans
from orchestrator.runner.schedule import FailureBudget, Limits, Placement, cohorts
from orchestrator.runner.shipped import playbooks_dir
from orchestrator.runner.states import PHASES, TERMINAL, Phase, RunStatus, ServerState, phase_of
from orchestrator.runner.status import run_list, server_events, server_status
from orchestrator.runner.targets import specs_for_servers
from orchestrator.store import RunRecord, Store
from orchestrator.workspace import Workspace

PLAYBOOKS_ENV = "PINDAH_PLAYBOOKS_DIR"
__all__ = ["RunOptions", "check_wave", "run_list", "run_wave", "server_events", "server_status"]
RESUMABLE = frozenset({RunStatus.RUNNING, RunStatus.INTERRUPTED, RunStatus.PAUSED, RunStatus.HALTED})


@dataclass(frozen=True)
class RunOptions:
    plan_id: str
    wave: int
    inventory: Path | None = None
    forks: int = 10
    force_reason: str | None = None  # run an unapproved/changed/stale plan anyway; recorded in the audit log
    resume: bool = False  # insist on resuming (an error when there is nothing to resume)
    max_parallel: int | None = None
    per_site: int | None = None
    per_zone: int | None = None
    failure_budget: str | None = None  # "N" servers or "P%"
    retries: int = 2
    retry_delay: float = 2.0
    pause_before_cutover: bool = False
    approve_cutover: bool = False

    def limits(self) -> Limits:
        budget = FailureBudget.parse(self.failure_budget) if self.failure_budget is not None else None
        return Limits(max_parallel=self.max_parallel, per_site=self.per_site, per_zone=self.per_zone,
                      failure_budget=budget)


def phase_playbooks_dir() -> Path:
    """The shipped playbooks, or the directory named by $PINDAH_PLAYBOOKS_DIR (tests, custom phases)."""
    override = os.environ.get(PLAYBOOKS_ENV)
    return Path(override) if override else playbooks_dir()


def default_inventory(store: Store) -> Path:
    snapshot = store.latest_snapshot()
    if snapshot is None:
        raise RunError("no inventory given and no discovery snapshot to take it from",
                       hint="pass -i INVENTORY, or run 'pindah discover' first")
    return Path(snapshot.source)


def cloud_vars(cloud: CloudSettings) -> dict[str, Any]:
    return cloud.model_dump(include={"ec2_endpoint", "s3_endpoint", "region", "subnet_id", "image_id",
                                     "instance_type"})


def wave_lock(ws: Workspace, plan_id: str, wave: int) -> WaveLock:
    return WaveLock(ws.state_dir / "locks" / f"run-{plan_id}-wave-{wave}.lock", f"wave {wave} of plan {plan_id}")


def resumable_run(ws: Workspace) -> tuple[str, int]:
    """The plan and wave of the newest run that can be resumed (for ``pindah run --resume`` alone)."""
    with Store.open(ws.db_path) as store:
        found = [r for r in store.runs() if r.status in RESUMABLE]
    if not found:
        raise RunError("there is no run to resume: every run finished",
                       hint="start one with 'pindah run --plan ID --wave K'; see 'pindah status'")
    return found[-1].plan_id, found[-1].wave


def _latest_run(store: Store, plan_id: str, wave: int) -> RunRecord | None:
    runs = [r for r in store.runs(plan_id) if r.wave == wave]
    return runs[-1] if runs else None


@dataclass(frozen=True)
class _Prepared:
    plan: Plan
    names: list[str]
    resume: RunRecord | None
    request: WaveRequest
    books: Path


def _prepare(ws: Workspace, store: Store, options: RunOptions) -> _Prepared:
    """Everything a run needs, read but not written: which servers, resumed or new, the engine request."""
    from orchestrator.inventory import load_inventory

    plan = load_plan(ws.plans_dir, options.plan_id)
    servers = plan.wave(options.wave).servers
    if options.forks < 1:
        raise RunError(f"--forks must be at least 1, not {options.forks}", hint="e.g. --forks 10")
    if options.retries < 0 or options.retry_delay < 0:
        raise RunError("--retries and --retry-delay cannot be negative", hint="e.g. --retries 2 --retry-delay 5")
    limits = options.limits()
    cloud = load_cloud_settings(ws)
    latest = _latest_run(store, plan.id, options.wave)
    resume = latest if latest is not None and latest.status in RESUMABLE else None
    if options.resume and resume is None:
        raise RunError(f"wave {options.wave} of plan {plan.id} has no unfinished run to resume",
                       hint="run it without --resume to start a new run; see 'pindah status'")
    names = [r.server for r in store.run_rows(resume.id)] if resume else _not_done(store, plan.id, options.wave,
                                                                                   servers)
    recorded = _recorded_start(store, resume.id) if resume else {}
    inventory = options.inventory or (Path(recorded["inventory"]) if recorded.get("inventory") else None) \
        or default_inventory(store)
    pause = options.pause_before_cutover or bool(recorded.get("pause_before_cutover"))  # never lost on resume
    hosts = load_inventory(inventory)
    specs = specs_for_servers(hosts, names, source=str(inventory), default_known_hosts=str(ws.known_hosts))
    zones = {h.name: str(h.vars.get("pindah_target_zone") or cloud.region) for h in hosts if h.name in names}
    books = phase_playbooks_dir()
    request = WaveRequest(
        plan_id=plan.id, wave=options.wave, specs=tuple(specs), cloud=cloud_vars(cloud), runs_dir=ws.runs_dir,
        forks=options.forks, env=cloud.credential_env(),
        phases=frozenset(p for p in Phase if (books / p.playbook).is_file()), limits=limits,
        placement=_placement(plan, names, zones), outside=_outside(store, plan.id, names),
        retries=options.retries, retry_delay=options.retry_delay,
        pause_before_cutover=pause, approve_cutover=options.approve_cutover,
        resume_run=resume.id if resume else None,
        meta={"inventory": str(inventory), "pause_before_cutover": pause},
        context=wave_context(plan, options.wave, done=_done(store, plan.id)))
    return _Prepared(plan, names, resume, request, books)


def _recorded_start(store: Store, run_id: int) -> dict[str, Any]:
    """What a run was started with (inventory, pause before cutover): a bare ``--resume`` keeps both."""
    for event in store.events(run_id=run_id):
        if event["kind"] == "started" and event["server"] is None:
            return dict(event["data"])
    return {}


def _placement(plan: Plan, names: Sequence[str], zones: Mapping[str, str]) -> Placement:
    sites = {s.name: s.site or "" for s in plan.servers if s.name in names}
    depends: dict[str, set[str]] = {}
    for dep in plan.dependencies:
        if dep.source in names and dep.target != dep.source:
            depends.setdefault(dep.source, set()).add(dep.target)
    return Placement(sites=sites, zones=dict(zones), depends_on={k: frozenset(v) for k, v in depends.items()})


def _outside(store: Store, plan_id: str, names: Sequence[str]) -> dict[str, ServerState]:
    """The latest state of the plan's servers that are not in this run (a dependency may have failed there)."""
    known = set(ServerState)
    return {r.server: ServerState(r.state) for r in store.run_servers(plan_id)
            if r.server not in names and r.state in known}


def run_wave(ws: Workspace, options: RunOptions, observer: WaveObserver | None = None,
             runner: PlaybookRunner | None = None) -> WaveResult:
    """Run (or resume) every phase for every server of one wave of a plan; failures per server are data."""
    from orchestrator.approval import gate_run, record_run

    load_plan(ws.plans_dir, options.plan_id).wave(options.wave)  # a clear error before taking the lock
    with wave_lock(ws, options.plan_id, options.wave) as lock, Store.open(ws.db_path) as store:
        prepared = _prepare(ws, store, options)
        approval = gate_run(ws, prepared.plan.id, options.wave, options.force_reason)
        ws.runs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if prepared.resume is not None:
            reaped = reap_orphans(ws.runs_dir / str(prepared.resume.id))
            if reaped or lock.stale:
                store.add_event(prepared.resume.id, None, None, "takeover", {
                    "stopped_orphans": reaped, "stale_lock": lock.stale})
        record_run(ws, prepared.plan.id, "run.started", {
            "wave": options.wave, "servers": list(prepared.names), **approval,
            **({"resumed_run": prepared.resume.id} if prepared.resume else {})})
        engine = WaveEngine(store, runner or AnsibleRunnerPlaybooks(prepared.books), observer)
        result = engine.run(prepared.request)
        record_run(ws, prepared.plan.id, "run.finished", {"wave": options.wave, "run": result.run_id,
                                                          "status": result.status.value,
                                                          "failed": list(result.failed)})
        return result


def check_wave(ws: Workspace, options: RunOptions) -> dict[str, Any]:
    """What ``run`` would do now, without changing anything: no store writes, no playbooks, no lock taken."""
    with Store.open(ws.db_path) as store:
        prepared = _prepare(ws, store, options)
        rows = {r.server: r for r in store.run_rows(prepared.resume.id)} if prepared.resume else {}
    request = prepared.request
    states = {n: ServerState(rows[n].state) if n in rows else ServerState.PENDING for n in prepared.names}
    pending = [n for n, st in states.items() if st is ServerState.PENDING]
    order = {n: i + 1 for i, group in enumerate(cohorts(pending, request.limits, request.placement)) for n in group}
    servers = []
    for name in prepared.names:
        state = states[name]
        servers.append({
            "name": name, "state": state.value, "site": request.placement.sites.get(name, ""),
            "zone": request.placement.zones.get(name, ""), "cohort": order.get(name),
            "phases": [p.value for p in _remaining(state, request)],
            "depends_on": sorted(request.placement.depends_on.get(name, frozenset()))})
    return {"plan": prepared.plan.id, "wave": options.wave,
            "resume_run": prepared.resume.id if prepared.resume else None,
            "playbooks": str(prepared.books),
            "skipped_phases": [p.value for p in Phase if p not in request.phases],
            "limits": {"max_parallel": request.limits.max_parallel, "per_site": request.limits.per_site,
                       "per_zone": request.limits.per_zone,
                       "failure_budget": str(request.limits.failure_budget or "") or None},
            "pause_before_cutover": request.pause_before_cutover, "servers": servers}


def _remaining(state: ServerState, request: WaveRequest) -> list[Phase]:
    """The phases ``run`` would still start for a server in ``state`` (if every one succeeded)."""
    if state in TERMINAL:
        return []
    if state is ServerState.ROLLING_BACK:
        return [Phase.ROLLBACK]
    if state is ServerState.AWAITING_CUTOVER:
        return list(PHASES[PHASES.index(Phase.CUTOVER):]) if request.approve_cutover else []
    current = phase_of(state) or Phase.PRECHECK
    remaining = list(PHASES[PHASES.index(current):])
    if request.pause_before_cutover and not request.approve_cutover and Phase.CUTOVER in remaining \
            and current is not Phase.CUTOVER:
        remaining = remaining[:remaining.index(Phase.CUTOVER)]
    return remaining


def _done(store: Store, plan_id: str) -> set[str]:
    return {r.server for r in store.run_servers(plan_id) if r.state == ServerState.DONE}


def _not_done(store: Store, plan_id: str, wave: int, servers: Sequence[str]) -> list[str]:
    """The wave's servers that have not been migrated yet: a done server is never moved twice."""
    done = _done(store, plan_id)
    todo = [s for s in servers if s not in done]
    if not todo:
        raise RunError(f"every server of wave {wave} of plan {plan_id} is already done",
                       hint=f"see 'pindah status --plan {plan_id}'")
    return todo
