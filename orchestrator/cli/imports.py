"""`pindah import servers FILE` and `pindah import dependencies FILE` (pindah's own CSV formats)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from orchestrator.cli.common import console, workspace
from orchestrator.importers import import_dependencies, import_servers
from orchestrator.store import Store

import_app = typer.Typer(help="Import declared servers and dependencies from CSV.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="The CSV file.", dir_okay=False)]


@import_app.command("servers")
def servers(ctx: typer.Context, file: FileArg) -> None:
    """Import servers: name,address,application,environment,criticality,role,site,agency,os,cpu_count,
    memory_mb,disk_gb. Nothing is stored unless every row is valid."""
    with Store.open(workspace(ctx).db_path) as store:
        count = import_servers(store, file)
    console().print(f"imported {count} server(s) from {escape(str(file))}")


@import_app.command("dependencies")
def dependencies(ctx: typer.Context, file: FileArg) -> None:
    """Import dependencies: source,target,port,weight (endpoints must be imported or discovered servers).
    Nothing is stored unless every row is valid."""
    with Store.open(workspace(ctx).db_path) as store:
        count = import_dependencies(store, file)
    console().print(f"imported {count} dependency(ies) from {escape(str(file))}")


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
