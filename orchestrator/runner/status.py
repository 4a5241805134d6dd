"""Reading runs back: per-server state, phase timings, attempts and errors; the runs; a server's events."""

from __future__ import annotations

from typing import Any

from orchestrator.errors import RunError
from orchestrator.store import RunServer, Store
from orchestrator.workspace import Workspace


def server_row(row: RunServer) -> dict[str, Any]:
    """One server's latest run state as plain data (what ``status --json`` prints per server)."""
    phases = row.data.get("phases") or {}
    timings = {}
    for name, record in phases.items():
        started, ended = record.get("started"), record.get("ended")
        timings[name] = {"started": started, "ended": ended, "attempts": int(record.get("attempts", 0)),
                         "seconds": round(ended - started, 3) if started and ended else None,
                         "ok": record.get("ok"), "skipped": bool(record.get("skipped")),
                         "error": record.get("error")}
    return {"name": row.server, "plan": row.plan_id, "wave": row.wave, "run": row.run_id, "state": row.state,
            "phase": row.phase, "target": row.data.get("target") or {}, "error": row.error,
            "first_error": row.data.get("error"), "rollback": row.data.get("rollback_result"),
            "attempts": sum(t["attempts"] for t in timings.values()), "phases": timings,
            "updated_at": row.updated_at}


def server_status(ws: Workspace, plan_id: str | None = None) -> list[dict[str, Any]]:
    """The latest state of every server that has been run, as plain data (for ``status --json``)."""
    with Store.open(ws.db_path) as store:
        rows = store.run_servers(plan_id)
    return [server_row(row) for row in rows]


def run_list(ws: Workspace, plan_id: str | None = None) -> list[dict[str, Any]]:
    with Store.open(ws.db_path) as store:
        runs = store.runs(plan_id)
    return [{"id": r.id, "plan": r.plan_id, "wave": r.wave, "status": r.status, "started_at": r.started_at,
             "finished_at": r.finished_at} for r in runs]


def server_events(ws: Workspace, server: str) -> list[dict[str, Any]]:
    with Store.open(ws.db_path) as store:
        events = store.events(server=server)
    if not events:
        raise RunError(f"no events stored for server {server!r}",
                       hint="check the name with 'pindah status'; events exist once a run touched it")
    return events
