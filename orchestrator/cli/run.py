"""CLI commands: run (one wave of a plan; resume; check), status, logs."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from orchestrator.cli import common
from orchestrator.errors import RunError
from orchestrator.runner.engine import WaveResult
from orchestrator.runner.service import (
    RunOptions,
    check_wave,
    run_list,
    run_wave,
    server_events,
    server_status,
)
from orchestrator.runner.service import resumable_run as find_resumable
from orchestrator.runner.states import TERMINAL, Phase, RunStatus, ServerState

EXIT_SOME_FAILED = 3
_STYLE = {ServerState.DONE: "green", ServerState.FAILED: "red", ServerState.ROLLED_BACK: "red",
          ServerState.BLOCKED: "magenta", ServerState.PENDING: "dim", ServerState.AWAITING_CUTOVER: "cyan"}


def _style(state: str) -> str:
    known = {s.value: s for s in ServerState}
    return _STYLE.get(known[state], "yellow") if state in known else "yellow"


class _Progress:
    """Receives state changes from the engine; renders a live table per wave (TTY) or plain lines."""

    def __init__(self, console: Console, live: bool, title: str) -> None:
        self.console = console
        self.live = live
        self.title = title
        self.rows: dict[str, tuple[ServerState, Phase | None, str | None]] = {}
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self.begun = time.monotonic()

    def server_changed(self, server: str, state: ServerState, phase: Phase | None, error: str | None) -> None:
        now = time.monotonic()
        if state is not ServerState.PENDING:
            self.started.setdefault(server, now)
        if state in TERMINAL:
            self.ended[server] = now
        self.rows[server] = (state, phase, error)
        if not self.live:
            tail = f" error: {error}" if error else ""
            self.console.print(f"{server}: {state}{f' ({phase})' if phase else ''}{tail}", markup=False)

    def table(self) -> Table:
        now = time.monotonic()
        counts: dict[str, int] = {}
        for state, _, _ in self.rows.values():
            counts[state.value] = counts.get(state.value, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        table = Table("server", "state", "phase", "elapsed", "error",
                      title=f"{self.title} · {now - self.begun:.0f}s · {summary}")
        for server, (state, phase, error) in self.rows.items():
            begun = self.started.get(server)
            elapsed = f"{self.ended.get(server, now) - begun:5.1f}s" if begun else ""
            style = _STYLE.get(state, "yellow")
            table.add_row(escape(server), f"[{style}]{state}[/]", phase or "", elapsed, escape(error or ""))
        return table


def _term_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM: record the run as interrupted (resumable) on the way out


def run_command(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    plan: Annotated[str | None, typer.Option("--plan", help="Plan id (plans/<id>.yaml).")] = None,
    wave: Annotated[int | None, typer.Option("--wave", help="Wave index to run.")] = None,
    inventory: Annotated[Path | None, typer.Option(
        "--inventory", "-i", help="Inventory (default: the latest discovery snapshot's).")] = None,
    forks: Annotated[int, typer.Option("--forks", help="Hosts Ansible works on in parallel.")] = 10,
    force: Annotated[str | None, typer.Option(
        "--force", metavar="REASON", help="Run even though the plan is unapproved, changed since its approval "
        "or stale; REASON is recorded in the audit log.")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Resume the unfinished run (of --plan/--wave, or the newest one).")] = False,
    check: Annotated[bool, typer.Option(
        "--check", help="Show what would run, changing nothing (no store writes, no playbooks).")] = False,
    max_parallel: Annotated[int | None, typer.Option(
        "--max-parallel", help="At most this many servers of the wave in flight at once.")] = None,
    per_site: Annotated[int | None, typer.Option(
        "--per-site", help="At most this many servers of one site in flight at once.")] = None,
    per_zone: Annotated[int | None, typer.Option(
        "--per-zone", help="At most this many servers landing in one target zone in flight at once.")] = None,
    failure_budget: Annotated[str | None, typer.Option(
        "--failure-budget", metavar="N|P%", help="Start no new server once more than N servers "
        "(or P% of the wave) failed; unreachable counts as failed.")] = None,
    retries: Annotated[int, typer.Option(
        "--retries", help="Extra attempts for a transient failure (unreachable host).")] = 2,
    retry_delay: Annotated[float, typer.Option(
        "--retry-delay", help="Seconds before the first retry; doubled for each next one.")] = 2.0,
    pause_before_cutover: Annotated[bool, typer.Option(
        "--pause-before-cutover", help="Stop each server after replicate until cutover is approved.")] = False,
    approve_cutover: Annotated[bool, typer.Option(
        "--approve-cutover", help="Approve the cutover of the servers waiting for it.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --check: machine-readable output.")] = False,
) -> None:
    """Migrate every server of one wave: precheck, backup, provision, replicate, cutover, validate, finalize.

    The plan must be approved ('pindah plan approve'), unchanged since, and built from the current inputs.
    A killed or interrupted run resumes with --resume or by running the same command again."""
    ws = common.workspace(ctx)
    if plan is None or wave is None:
        if not resume:
            raise RunError("--plan and --wave are needed (or --resume to continue the newest unfinished run)",
                           hint="e.g. pindah run --plan 2026-01 --wave 1")
        plan, wave = find_resumable(ws)
    options = RunOptions(plan_id=plan, wave=wave, inventory=inventory, forks=forks, force_reason=force,
                         resume=resume, max_parallel=max_parallel, per_site=per_site, per_zone=per_zone,
                         failure_budget=failure_budget, retries=retries, retry_delay=retry_delay,
                         pause_before_cutover=pause_before_cutover, approve_cutover=approve_cutover)
    if check:
        _print_check(check_wave(ws, options), as_json)
        return
    console = common.console()
    live = sys.stdout.isatty()
    progress = _Progress(console, live, f"wave {wave} of plan {plan}")
    previous = signal.signal(signal.SIGTERM, _term_as_interrupt)
    try:
        if live:
            with Live(get_renderable=progress.table, console=console, refresh_per_second=4):
                result = run_wave(ws, options, progress)
        else:
            result = run_wave(ws, options, progress)
    finally:
        signal.signal(signal.SIGTERM, previous)
    _summary(console, result, plan, wave)


def _summary(console: Console, result: WaveResult, plan: str, wave: int) -> None:
    counts: dict[str, int] = {}
    for state in result.states.values():
        counts[state.value] = counts.get(state.value, 0) + 1
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    console.print(f"run {result.run_id} ({result.status}): {parts}", markup=False)
    for server in result.failed:
        console.print(f"  {server}: {result.states[server]}: {result.errors.get(server, '')}", markup=False)
    if result.status is RunStatus.PAUSED:
        console.print(f"paused before cutover: approve with 'pindah run --plan {plan} --wave {wave} --resume "
                      "--approve-cutover'", markup=False)
    if result.status is RunStatus.HALTED:
        console.print("the failure budget stopped new servers from starting; fix the failures, then resume "
                      "with --resume (and a larger --failure-budget if need be)", markup=False)
    if result.failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def _print_check(found: dict[str, Any], as_json: bool) -> None:
    if as_json:
        common.print_json(found)
        return
    console = common.console()
    what = f"resume run {found['resume_run']}" if found["resume_run"] else "start a new run"
    console.print(f"would {what} of wave {found['wave']} of plan {found['plan']} (nothing was changed)",
                  markup=False)
    limits = ", ".join(f"{k}={v}" for k, v in found["limits"].items() if v is not None) or "none"
    console.print(f"limits: {limits}; playbooks: {found['playbooks']}", markup=False)
    if found["skipped_phases"]:
        console.print(f"phases without a playbook (skipped): {', '.join(found['skipped_phases'])}", markup=False)
    table = Table("server", "state", "site", "zone", "cohort", "phases to run", "depends on")
    for row in found["servers"]:
        table.add_row(escape(row["name"]), f"[{_style(row['state'])}]{row['state']}[/]", escape(row["site"]),
                      escape(row["zone"]), str(row["cohort"] or ""), " → ".join(row["phases"]) or "-",
                      escape(", ".join(row["depends_on"])))
    console.print(table)


def status_command(
    ctx: typer.Context,
    plan: Annotated[str | None, typer.Option("--plan", help="Only this plan.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
) -> None:
    """Show the latest migration state of every server that has been run, with phase timings."""
    ws = common.workspace(ctx)
    servers = server_status(ws, plan)
    if as_json:
        common.print_json({"servers": servers, "runs": run_list(ws, plan)})
        return
    if not servers:
        where = f" for plan {escape(plan)}" if plan else ""
        common.console().print(f"no runs yet{where}: start one with 'pindah run --plan ID --wave K'")
        return
    table = Table("plan", "wave", "run", "server", "state", "phase", "attempts", "time", "target", "error")
    for row in servers:
        target = row["target"]
        where = f"{target.get('instance_id') or ''} {target.get('address') or ''}".strip()
        seconds = sum(t["seconds"] or 0 for t in row["phases"].values())
        table.add_row(escape(row["plan"]), str(row["wave"]), str(row["run"]), escape(row["name"]),
                      f"[{_style(row['state'])}]{row['state']}[/]", row["phase"] or "", str(row["attempts"]),
                      f"{seconds:.1f}s", where, escape(row["error"] or ""))
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
        detail = " ".join(f"{k}={data[k]}" for k in ("from", "to", "why", "attempt", "resume", "task", "status",
                                                      "msg", "error", "reason")
                          if data.get(k) not in (None, ""))
        console.print(f"{ev['created_at']} run {ev['run_id']} {ev['phase'] or '-'} {ev['kind']}: {detail}",
                      markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("run")(run_command)
    app.command("status")(status_command)
    app.command("logs")(logs_command)
