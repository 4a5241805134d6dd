"""The library entry points the CLI calls: run a wave, read run status, read a server's events."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.cloud import CloudSettings, load_cloud_settings
from orchestrator.errors import RunError
from orchestrator.plan import load_plan
from orchestrator.runner.engine import WaveEngine, WaveObserver, WaveRequest, WaveResult
from orchestrator.runner.playbook import AnsibleRunnerPlaybooks, PlaybookRunner
from orchestrator.runner.shipped import playbooks_dir
from orchestrator.runner.states import Phase, ServerState
from orchestrator.runner.targets import specs_for_servers
from orchestrator.store import Store
from orchestrator.workspace import Workspace

PLAYBOOKS_ENV = "PINDAH_PLAYBOOKS_DIR"


@dataclass(frozen=True)
class RunOptions:
    plan_id: str
    wave: int
    inventory: Path | None = None
    forks: int = 10
    force_reason: str | None = None  # run an unapproved/changed/stale plan anyway; recorded in the audit log


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


def run_wave(ws: Workspace, options: RunOptions, observer: WaveObserver | None = None,
             runner: PlaybookRunner | None = None) -> WaveResult:
    """Run every phase for every server of one wave of a plan; failures per server are data."""
    from orchestrator.approval import gate_run, record_run
    from orchestrator.inventory import load_inventory

    plan = load_plan(ws.plans_dir, options.plan_id)
    servers = plan.wave(options.wave).servers
    if options.forks < 1:
        raise RunError(f"--forks must be at least 1, not {options.forks}", hint="e.g. --forks 10")
    cloud = load_cloud_settings(ws)
    with Store.open(ws.db_path) as store:
        todo = _not_done(store, plan.id, options.wave, servers)
        inventory = options.inventory or default_inventory(store)
        specs = specs_for_servers(load_inventory(inventory), todo, source=str(inventory),
                                  default_known_hosts=str(ws.known_hosts))
        books = phase_playbooks_dir()
        phases = frozenset(p for p in Phase if (books / p.playbook).is_file())
        request = WaveRequest(plan_id=plan.id, wave=options.wave, specs=tuple(specs), cloud=cloud_vars(cloud),
                              runs_dir=ws.runs_dir, forks=options.forks, env=cloud.credential_env(), phases=phases)
        ws.runs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = WaveEngine(store, runner or AnsibleRunnerPlaybooks(books), observer)
        approval = gate_run(ws, plan.id, options.wave, options.force_reason)
        record_run(ws, plan.id, "run.started", {"wave": options.wave, "servers": list(todo), **approval})
        result = engine.run(request)
        record_run(ws, plan.id, "run.finished", {"wave": options.wave, "run": result.run_id,
                                                  "failed": list(result.failed)})
        return result


def _not_done(store: Store, plan_id: str, wave: int, servers: Sequence[str]) -> list[str]:
    """The wave's servers that have not been migrated yet: a done server is never moved twice."""
    done = {r.server for r in store.run_servers(plan_id) if r.state == ServerState.DONE}
    todo = [s for s in servers if s not in done]
    if not todo:
        raise RunError(f"every server of wave {wave} of plan {plan_id} is already done",
                       hint=f"see 'pindah status --plan {plan_id}'")
    return todo


def server_status(ws: Workspace, plan_id: str | None = None) -> list[dict[str, Any]]:
    """The latest state of every server that has been run, as plain data (for ``status --json``)."""
    with Store.open(ws.db_path) as store:
        rows = store.run_servers(plan_id)
    states = set(ServerState)
    out = []
    for row in rows:
        state = ServerState(row.state) if row.state in states else ServerState.FAILED
        out.append({"name": row.server, "plan": row.plan_id, "wave": row.wave, "run": row.run_id,
                    "state": state.value, "phase": row.phase, "target": row.data.get("target") or {},
                    "error": row.error, "updated_at": row.updated_at})
    return out


def server_events(ws: Workspace, server: str) -> list[dict[str, Any]]:
    with Store.open(ws.db_path) as store:
        events = store.events(server=server)
    if not events:
        raise RunError(f"no events stored for server {server!r}",
                       hint="check the name with 'pindah status'; events exist once a run touched it")
    return events

