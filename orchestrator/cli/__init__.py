"""The pindah command line: a thin shell over the library. One error boundary maps errors to exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from orchestrator import __version__
from orchestrator.cli import common
from orchestrator.errors import PindahError

app = typer.Typer(
    name="pindah",
    help="Move on-premises servers into the national cloud: discover, plan, run waves, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pindah {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="Workspace directory (default: $PINDAH_WORKSPACE, else the current "
        "directory or a parent holding pindah.toml).")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    common.state(ctx).workspace_option = workspace


def _register() -> None:
    from orchestrator.cli import audit, discover, export, imports, lab, plan, report, review, run, ws

    for module in (ws, lab, discover, imports, plan, review, run, report, audit, export):
        module.register(app)


_register()


def main() -> None:
    """Console-script entry point and the CLI's one error boundary."""
    try:
        app()
    except PindahError as exc:
        err = common.err_console()
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        if exc.hint:
            err.print(f"[yellow]hint:[/] {escape(exc.hint)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        common.err_console().print("[red]interrupted[/]")
        sys.exit(130)
