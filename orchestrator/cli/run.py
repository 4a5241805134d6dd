"""CLI commands: run (one wave of a plan), status, logs."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from orchestrator.cli import common
from orchestrator.runner.service import RunOptions, run_wave, server_events, server_status
from orchestrator.runner.states import Phase, ServerState

EXIT_SOME_FAILED = 3
_STYLE = {ServerState.DONE: "green", ServerState.FAILED: "red", ServerState.PENDING: "dim"}


class _Progress:
    """Receives state changes from the engine; renders a live table (TTY) or plain lines."""

    def __init__(self, console: Console, live: bool) -> None:
        self.console = console
        self.live = live
        self.rows: dict[str, tuple[ServerState, Phase | None, str | None]] = {}
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}

    def server_changed(self, server: str, state: ServerState, phase: Phase | None, error: str | None) -> None:
        now = time.monotonic()
        if state not in (ServerState.PENDING,):
            self.started.setdefault(server, now)
        if state in (ServerState.DONE, ServerState.FAILED):
            self.ended[server] = now
        self.rows[server] = (state, phase, error)
        if not self.live:
            tail = f" error: {error}" if error else ""
            self.console.print(f"{server}: {state}{f' ({phase})' if phase else ''}{tail}", markup=False)

    def table(self) -> Table:
        table = Table("server", "state", "phase", "elapsed", "error", title="pindah run")
        now = time.monotonic()
        for server, (state, phase, error) in self.rows.items():
            begun = self.started.get(server)
            elapsed = f"{self.ended.get(server, now) - begun:5.1f}s" if begun else ""
            style = _STYLE.get(state, "yellow")
            table.add_row(escape(server), f"[{style}]{state}[/]", phase or "", elapsed, escape(error or ""))
        return table


def run_command(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    plan: Annotated[str, typer.Option("--plan", help="Plan id (plans/<id>.yaml).")],
    wave: Annotated[int, typer.Option("--wave", help="Wave index to run.")],
    inventory: Annotated[Path | None, typer.Option(
        "--inventory", "-i", help="Inventory (default: the latest discovery snapshot's).")] = None,
    forks: Annotated[int, typer.Option("--forks", help="Hosts Ansible works on in parallel.")] = 10,
    force: Annotated[str | None, typer.Option(
        "--force", metavar="REASON", help="Run even though the plan is unapproved, changed since its approval "
        "or stale; REASON is recorded in the audit log.")] = None,
) -> None:
    """Migrate every server of one wave: precheck, provision, replicate, cutover, validate.

    The plan must be approved ('pindah plan approve'), unchanged since, and built from the current inputs."""
    ws = common.workspace(ctx)
    console = common.console()
    live = sys.stdout.isatty()
    progress = _Progress(console, live)
    options = RunOptions(plan_id=plan, wave=wave, inventory=inventory, forks=forks, force_reason=force)
    if live:
        with Live(get_renderable=progress.table, console=console, refresh_per_second=4):
            result = run_wave(ws, options, progress)
    else:
        result = run_wave(ws, options, progress)
    done = sum(1 for s in result.states.values() if s is ServerState.DONE)
    console.print(f"run {result.run_id}: {done} done, {len(result.failed)} failed", markup=False)
    for server in result.failed:
        console.print(f"  {server}: {result.errors.get(server, '')}", markup=False)
    if result.failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def status_command(
    ctx: typer.Context,
    plan: Annotated[str | None, typer.Option("--plan", help="Only this plan.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
) -> None:
    """Show the latest migration state of every server that has been run."""
    servers = server_status(common.workspace(ctx), plan)
    if as_json:
        common.print_json({"servers": servers})
        return
    if not servers:
        where = f" for plan {escape(plan)}" if plan else ""
        common.console().print(f"no runs yet{where}: start one with 'pindah run --plan ID --wave K'")
        return
    table = Table("plan", "wave", "server", "state", "phase", "target", "error")
    for row in servers:
        target = row["target"]
        where = f"{target.get('instance_id') or ''} {target.get('address') or ''}".strip()
        style = _STYLE.get(ServerState(row["state"]), "yellow")
        table.add_row(escape(row["plan"]), str(row["wave"]), escape(row["name"]),
                      f"[{style}]{row['state']}[/]", row["phase"] or "", where, escape(row["error"] or ""))
    common.console().print(table)


def logs_command(
    ctx: typer.Context,
    server: Annotated[str, typer.Argument(help="Server name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
) -> None:
    """Print the stored events of one server (redacted)."""
    events = server_events(common.workspace(ctx), server)
    if as_json:
        common.print_json({"server": server, "events": events})
        return
    console = common.console()
    for ev in events:
        data = ev["data"]
        detail = " ".join(f"{k}={data[k]}" for k in ("from", "to", "task", "status", "msg", "error")
                          if data.get(k) not in (None, ""))
        console.print(f"{ev['created_at']} run {ev['run_id']} {ev['phase'] or '-'} {ev['kind']}: {detail}",
                      markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("run")(run_command)
    app.command("status")(status_command)
    app.command("logs")(logs_command)
