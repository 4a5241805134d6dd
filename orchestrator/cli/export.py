"""`pindah export ansible-inventory|csv`: a plan in the shapes other tools read."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from orchestrator.cli.common import err_console, workspace
from orchestrator.export import export_ansible_inventory, export_csv

export_app = typer.Typer(help="Export a plan: an Ansible inventory per wave, or a CSV of every server.",
                         no_args_is_help=True)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err_console().print(f"wrote {escape(str(output))}")


@export_app.command("ansible-inventory")
def ansible_inventory_command(
    ctx: typer.Context,
    plan: Annotated[str, typer.Option("--plan", help="Plan id (plans/<id>.yaml).")],
    wave: Annotated[int, typer.Option("--wave", help="Wave index.")],
    inventory: Annotated[Path | None, typer.Option(
        "--inventory", "-i", help="Where the connection vars come from (default: the latest discovery's).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.",
                                                metavar="FILE")] = None,
) -> None:
    """An Ansible YAML inventory of one wave's servers, with their connection vars and pindah_* plan vars."""
    result = export_ansible_inventory(workspace(ctx), plan, wave, inventory)
    _write(result.text, output)
    if result.missing:
        err_console().print(f"[yellow]left out (no inventory entry, no address):[/] "
                            f"{escape(', '.join(result.missing))}")


@export_app.command("csv")
def csv_command(
    ctx: typer.Context,
    plan: Annotated[str, typer.Option("--plan", help="Plan id (plans/<id>.yaml).")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.",
                                                metavar="FILE")] = None,
) -> None:
    """One row per server: wave, application, environment, site, role, strategy, flavor, cost, reason."""
    _write(export_csv(workspace(ctx), plan), output)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
