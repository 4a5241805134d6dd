"""CLI commands: ``pindah discover`` and ``pindah inventory export|list``."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from discovery.facts import HostFacts
from orchestrator.cli.common import console, err_console, print_json, print_json_stream, workspace
from orchestrator.discover import (
    DiscoveryResult,
    HostSummary,
    ask_passwords,
    diff_snapshots,
    discover,
    export_dependencies,
    export_document,
    export_host,
    failure_summary,
)
from orchestrator.errors import InputError
from orchestrator.store import Store

inventory_app = typer.Typer(help="The discovered inventory: list it, export it.", no_args_is_help=True)

EXIT_SOME_FAILED = 3


class _Reporter:
    """Progress as a rich bar on a TTY, else one plain line per host (to stderr)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.done, self.failed, self.started = total, 0, 0, time.monotonic()
        self.err = err_console()
        self.progress: Progress | None = None
        if not quiet and self.err.is_terminal:
            self.progress = Progress(TextColumn("discover"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[failed]} failed  {task.fields[rate]}/s"),
                                     TimeElapsedColumn(), console=self.err, transient=True)
            self.task = self.progress.add_task("discover", total=total, failed=0, rate="0.0")
        self.quiet = quiet

    def __enter__(self) -> _Reporter:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, facts: HostFacts) -> None:
        self.done += 1
        self.failed += 0 if facts.reachable else 1
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        if self.progress is not None:
            self.progress.update(self.task, advance=1, failed=self.failed, rate=f"{rate:.1f}")
        elif not self.quiet:
            state = "ok" if facts.reachable else f"FAILED ({facts.errors[0].category})"
            self.err.print(f"[{self.done}/{self.total}] {escape(facts.name)}: {state}")


def _selected_hosts(inventory: Path, limit: str | None) -> list[Any]:
    from orchestrator.inventory import load_inventory, select

    return select(load_inventory(inventory), limit)


def discover_command(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    inventory: Annotated[Path, typer.Option("--inventory", "-i", help="Ansible inventory (YAML or INI).")],
    limit: Annotated[str | None, typer.Option("--limit", "-l", help="Ansible host pattern.")] = None,
    forks: Annotated[int, typer.Option("--forks", "-f", help="Hosts probed at once.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable result on stdout.")] = False,
    known_hosts: Annotated[Path | None, typer.Option("--known-hosts", help="known_hosts file to verify "
                                                     "host keys against (overrides the inventory's).")] = None,
    accept_new: Annotated[bool, typer.Option("--accept-new-host-keys", help="Record unknown host keys "
                                             "(a changed key is never accepted).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds for connect, handshake, auth and "
                                           "each command.")] = 10.0,
    samples: Annotated[int, typer.Option("--samples", help="Poll connections and utilisation K times "
                                         "per host (same SSH session) to observe dependencies over time.")] = 1,
    interval: Annotated[int, typer.Option("--interval", help="Whole seconds between samples.")] = 5,
    max_handshakes: Annotated[int, typer.Option("--max-handshakes", help="Concurrent SSH handshakes per sshd "
                                                "and per bastion (sshd's MaxStartups drops the excess).")] = 8,
    ask_pass: Annotated[bool, typer.Option("--ask-pass", "-k", help="Ask once for an SSH password, tried "
                                           "on every host after its other credential sets (needs a "
                                           "terminal; kept in memory only).")] = False,
) -> None:
    """Probe the inventory's hosts over SSH and store one discovery snapshot."""
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # failures are reported as data, not tracebacks
    ws = workspace(ctx)
    path = inventory  # relative paths are relative to the current directory
    hosts = _selected_hosts(path, limit)
    passwords = ask_passwords(hosts, ask_pass)  # before the progress bar, once per credential set
    with _Reporter(len(hosts), quiet=as_json) as reporter:
        result = discover(ws, path, limit=limit, forks=forks, known_hosts=known_hosts,
                          accept_new=accept_new, timeout=timeout, samples=samples, interval=interval,
                          max_handshakes=max_handshakes, progress_callback=reporter, ask_pass=ask_pass,
                          passwords=passwords)
    if as_json:
        # hosts are read back from the store one at a time: the whole estate is never in memory
        print_json_stream([("snapshot_id", result.snapshot_id),
                           ("hosts", (export_host(f) for f in result.iter_facts())),
                           ("failed", [failure_summary(h) for h in result.failed]),
                           *export_dependencies(result.hosts).items()])
    else:
        _render(result, time.monotonic() - reporter.started)
    if result.failed:
        _print_failures(result)
        raise typer.Exit(EXIT_SOME_FAILED)


def _render(result: DiscoveryResult, elapsed: float) -> None:
    out = console()
    table = Table(title=f"snapshot {result.snapshot_id}")
    for column in ("host", "address", "os", "cpu", "memory", "listening", "connections", "status"):
        table.add_column(column)
    for host in result.hosts:
        table.add_row(*_row(host))
    out.print(table)
    out.print(f"{len(result.hosts)} hosts in {elapsed:.1f}s, {len(result.failed)} failed")


def _print_failures(result: DiscoveryResult) -> None:
    err = err_console()
    for facts in result.failed:
        item = failure_summary(facts)
        err.print(f"[red]failed:[/] {escape(facts.name)} ({escape(facts.address)}): "
                  f"{escape(str(item['category']))}: {escape(str(item['message']))}")
        if item["hint"]:
            err.print(f"  [yellow]hint:[/] {escape(str(item['hint']))}")


def _row(facts: HostFacts | HostSummary) -> list[str]:
    os_text = f"{facts.os.id} {facts.os.version_id}" if facts.os else "-"
    status = "ok" if facts.reachable else f"failed: {facts.errors[0].category}"
    if facts.reachable and facts.errors:
        status = "partial: " + ", ".join(e.fact for e in facts.errors)
    return [escape(facts.name), escape(facts.address), escape(os_text),
            str(facts.cpu.count) if facts.cpu else "-",
            f"{facts.memory_mb} MB" if facts.memory_mb is not None else "-",
            str(len(facts.listening)), str(len(facts.connections)), escape(status)]


def _latest(ctx: typer.Context) -> list[HostFacts]:
    ws = workspace(ctx)
    with Store.open(ws.db_path) as store:
        return store.latest_facts()


@inventory_app.command("export")
def export_command(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="Output format (json).")] = "json",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")] = None,
) -> None:
    """Export the latest discovered facts of every host."""
    if fmt != "json":
        raise InputError(f"unknown format {fmt!r}", source="--format", hint="use --format json")
    document: dict[str, Any] = export_document(_latest(ctx))
    if output is None:
        print_json(document)
        return
    output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    err_console().print(f"wrote {len(document['hosts'])} hosts to {escape(str(output))}")


@inventory_app.command("list")
def list_command(ctx: typer.Context) -> None:
    """Table of the latest discovered facts of every host."""
    facts = _latest(ctx)
    table = Table()
    for column in ("host", "address", "os", "cpu", "memory", "listening", "connections", "status"):
        table.add_column(column)
    for item in facts:
        table.add_row(*_row(item))
    console().print(table)
    if not facts:
        sys.stderr.write("no discovered hosts yet: run 'pindah discover -i INVENTORY'\n")


@inventory_app.command("diff")
def diff_command(
    ctx: typer.Context,
    snapshot_a: Annotated[int | None, typer.Argument(help="Older snapshot id (default: the one before B).")] = None,
    snapshot_b: Annotated[int | None, typer.Argument(help="Newer snapshot id (default: the latest).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable result on stdout.")] = False,
) -> None:
    """What changed between two discoveries: hosts, packages, services, listening ports, dependencies."""
    a, b, changes = diff_snapshots(workspace(ctx), snapshot_a, snapshot_b)
    if as_json:
        print_json({"snapshot_a": a, "snapshot_b": b, **changes.model_dump(mode="json")})
        return
    out = console()
    out.print(f"snapshot {a} → {b}: " + ("no changes" if changes.empty else "changes"))
    for label, items in (("appeared", changes.appeared), ("gone", changes.gone),
                         ("now unreachable", changes.now_unreachable), ("reachable again", changes.now_reachable),
                         ("new dependencies", changes.dependencies_new),
                         ("vanished dependencies", changes.dependencies_gone)):
        if items:
            out.print(f"{label}: " + escape(", ".join(items)))
    for host in changes.hosts:
        out.print(f"[bold]{escape(host.name)}[/]")
        for field, value in host.model_dump().items():
            if field != "name" and value:
                shown = [f"{c['name']} {c['before']} → {c['after']}" if isinstance(c, dict) else c for c in value]
                out.print(f"  {field.replace('_', ' ')}: " + escape(", ".join(shown)))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("discover")(discover_command)
    app.add_typer(inventory_app, name="inventory")
