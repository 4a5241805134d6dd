"""Library glue for planning: store -> planner inputs -> plan files (``plans/<id>.yaml`` and ``.md``)."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.approval import record_plan_created
from orchestrator.errors import PlanError, WorkspaceError
from orchestrator.plan import Plan, PlannedServer, dump_plan, load_plan, plan_path, validate_plan_id
from orchestrator.planner import PlannerInputs, build_inputs, build_plan
from orchestrator.planner.constraints import rules_from_config
from orchestrator.planner.diff import PlanDiff, diff_plans
from orchestrator.planner.markdown import render_plan_markdown
from orchestrator.planner.sizing import load_catalog
from orchestrator.store import Store
from orchestrator.workspace import Workspace

CATALOG_NAME = "catalog.yaml"


@dataclass(frozen=True)
class CreatedPlan:
    plan: Plan
    yaml_path: Path
    markdown_path: Path


@dataclass(frozen=True)
class PlanSummary:
    id: str
    created_at: str
    waves: int
    servers: int


def collect_inputs(store: Store) -> PlannerInputs:
    return build_inputs(store.latest_facts(), store.servers(), store.dependencies())


def default_plan_id(plans_dir: Path, now: datetime) -> str:
    """``plan-YYYYMMDD-HHMMSS``; when taken, the next free ``-N`` suffix."""
    base = now.strftime("plan-%Y%m%d-%H%M%S")
    candidate, n = base, 2
    while (plans_dir / f"{candidate}.yaml").exists() or (plans_dir / f"{candidate}.md").exists():
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def write_plan_files(plans_dir: Path, plan: Plan) -> CreatedPlan:
    """Write both files atomically; refuse to overwrite an existing plan id.

    Each file is written to a hidden temporary file, flushed to disk, then linked to its name (a link never
    replaces an existing file), Markdown first: a plan's YAML exists only complete and with its Markdown
    beside it, whenever pindah is killed. A Markdown file without its YAML is what such a kill left, and
    is replaced.
    """
    yaml_path = plan_path(plans_dir, plan.id)
    md_path = yaml_path.with_suffix(".md")
    if yaml_path.exists():
        raise PlanError(f"plan {plan.id!r} already exists ({yaml_path})",
                        hint="plans are never overwritten: choose another --id, or omit --id for a new one")
    plans_dir.mkdir(parents=True, exist_ok=True)
    md_path.unlink(missing_ok=True)  # left by an interrupted create: its YAML never appeared
    _write_new(md_path, render_plan_markdown(plan))
    try:
        _write_new(yaml_path, dump_plan(plan))
    except FileExistsError:
        raise PlanError(f"plan {plan.id!r} already exists ({yaml_path})",
                        hint="plans are never overwritten: choose another --id, or omit --id for a new one") from None
    return CreatedPlan(plan, yaml_path, md_path)


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` with ``text`` all at once (temp file, fsync, link); FileExistsError if it exists."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(temp, path)
    finally:
        os.unlink(temp)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def create_plan(ws: Workspace, *, plan_id: str | None = None, max_wave_servers: int | None = None,
                now: datetime | None = None, base_id: str | None = None) -> CreatedPlan:
    """Plan from the workspace store's current inputs and write ``plans/<id>.yaml`` + ``.md``."""
    moment = now or datetime.now(UTC)
    section = ws.config().get("plan", {})
    if not isinstance(section, dict):
        raise WorkspaceError(f"[plan] in {ws.config_path} must be a table", hint="fix pindah.toml")
    rules = rules_from_config(section, max_wave_servers)
    chosen = validate_plan_id(plan_id) if plan_id else default_plan_id(ws.plans_dir, moment)
    if plan_path(ws.plans_dir, chosen).exists():
        raise PlanError(f"plan {chosen!r} already exists", hint="choose another --id; plans are never overwritten")
    with Store.open(ws.db_path) as store:
        inputs = collect_inputs(store)
    plan = build_plan(inputs, plan_id=chosen, max_wave_servers=rules.max_wave_servers,
                      created_at=moment.isoformat(timespec="seconds"), rules=rules,
                      catalog=load_catalog(ws.root / CATALOG_NAME),
                      base=load_plan(ws.plans_dir, base_id) if base_id else None)
    created = write_plan_files(ws.plans_dir, plan)
    record_plan_created(ws, plan, created.yaml_path)  # the author, whom approval needs to differ from
    return created


def show_plan(ws: Workspace, plan_id: str) -> Plan:
    return load_plan(ws.plans_dir, plan_id)


_ID_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\.yaml$")


def list_plans(ws: Workspace) -> list[PlanSummary]:
    """Every readable plan in the workspace, oldest first; unreadable files are skipped."""
    out: list[PlanSummary] = []
    if not ws.plans_dir.is_dir():
        return out
    for path in sorted(ws.plans_dir.glob("*.yaml")):
        if not _ID_FILE.match(path.name):
            continue
        try:
            plan = load_plan(ws.plans_dir, path.stem)
        except PlanError:
            continue
        out.append(PlanSummary(plan.id, plan.created_at, len(plan.waves), len(plan.servers)))
    return sorted(out, key=lambda p: (p.created_at, p.id))


def newest_plan(ws: Workspace) -> Plan | None:
    plans = list_plans(ws)
    return load_plan(ws.plans_dir, plans[-1].id) if plans else None


def explain_server(ws: Workspace, plan_id: str, server: str) -> PlannedServer:
    """The planned server with its reasons; a name not in the plan is an error listing near names."""
    plan = load_plan(ws.plans_dir, plan_id)
    names = [s.name for s in plan.servers]
    if server not in names:
        near = [n for n in names if server.lower() in n.lower()][:5]
        raise PlanError(f"plan {plan_id} has no server {server!r}",
                        hint=f"did you mean: {', '.join(near)}" if near else f"see 'pindah plan show {plan_id}'")
    return plan.server(server)


def diff_plan_files(ws: Workspace, before: str, after: str) -> PlanDiff:
    return diff_plans(load_plan(ws.plans_dir, before), load_plan(ws.plans_dir, after))
