"""`pindah init`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from orchestrator.cli.common import console
from orchestrator.workspace import init_workspace


def init(directory: Annotated[Path, typer.Argument(help="Where to create the workspace.")] = Path(".")) -> None:
    """Create a workspace: pindah.toml, inventory/, plans/ and the .pindah/state.db store."""
    ws = init_workspace(directory)
    console().print(f"workspace ready at {escape(str(ws.root))}")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
