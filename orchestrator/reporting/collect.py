"""Gather what the workspace knows into a report and write it as Markdown, HTML or JSON (the I/O edge).

pindah.toml may carry a ``[report]`` section (all optional, in the plan's currency per month)::

    [report]
    onprem_server_month = 1500000   # what one server costs on-premises per month (power, space, support)
    onprem_gb_month = 300           # and one GB of its storage
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.errors import WorkspaceError
from orchestrator.plan import Plan, load_plan
from orchestrator.planning import collect_inputs, newest_plan
from orchestrator.report import RunRow, write_report
from orchestrator.reporting.build import OnPremCost, ReportSources, build_report
from orchestrator.reporting.html import render_html, report_json
from orchestrator.reporting.model import Report
from orchestrator.store import Store
from orchestrator.workspace import Workspace

FORMATS = ("md", "html", "json")
_KEYS = ("onprem_server_month", "onprem_gb_month")


def _number(section: dict[str, Any], key: str, where: Path) -> float | None:
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise WorkspaceError(f"[report] {key} in {where} must be a number >= 0, not {value!r}",
                             hint=f"set for example {key} = 100 or remove the key")
    return float(value)


def report_settings(ws: Workspace) -> OnPremCost | None:
    section = ws.config().get("report", {})
    if not isinstance(section, dict):
        raise WorkspaceError(f"[report] in {ws.config_path} must be a table", hint="fix pindah.toml")
    unknown = sorted(set(section) - set(_KEYS))
    if unknown:
        raise WorkspaceError(f"unknown [report] key(s) in {ws.config_path}: {', '.join(unknown)}",
                             hint=f"known keys: {', '.join(_KEYS)}")
    server, gb = (_number(section, k, ws.config_path) for k in _KEYS)
    return OnPremCost(server_month=server, gb_month=gb or 0.0) if server is not None else None


def collect_report(ws: Workspace, *, plan_id: str | None = None, now: datetime | None = None) -> Report:
    moment = now or datetime.now(UTC)
    plan: Plan | None = load_plan(ws.plans_dir, plan_id) if plan_id else newest_plan(ws)
    onprem = report_settings(ws)
    with Store.open(ws.db_path) as store:
        inputs = collect_inputs(store)
        facts = store.latest_facts()
        runs = [RunRow(r.plan_id, r.wave, r.server, r.state, r.phase, r.error) for r in store.run_servers()]
    return build_report(ReportSources(generated_at=moment.isoformat(timespec="seconds"), servers=inputs.servers,
                                      plan=plan, facts=facts, runs=runs, onprem=onprem))


def write_report_file(ws: Workspace, *, fmt: str = "md", output: Path | None = None, plan_id: str | None = None,
                      now: datetime | None = None) -> Path:
    """Write the report in ``fmt`` (md, html or json); returns the path written."""
    if fmt not in FORMATS:
        raise WorkspaceError(f"unknown report format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    moment = now or datetime.now(UTC)
    if fmt == "md":
        return write_report(ws, output=output, plan_id=plan_id, now=moment)
    report = collect_report(ws, plan_id=plan_id, now=moment)
    text = render_html(report) if fmt == "html" else report_json(report) + "\n"
    path = output or ws.root / "reports" / f"report-{moment.strftime('%Y%m%d-%H%M%S')}.{fmt}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise WorkspaceError(f"cannot write the report to {path}: {exc.strerror}",
                             hint="pass -o FILE with a writable path") from exc
    return path
