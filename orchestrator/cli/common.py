"""Shared pieces of the CLI layer: the workspace lookup, consoles and JSON output."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from orchestrator.workspace import Workspace, find_workspace


@dataclass
class CliState:
    workspace_option: Path | None = None


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def workspace(ctx: typer.Context) -> Workspace:
    """The workspace for this command (``--workspace``, $PINDAH_WORKSPACE, or upwards from the cwd)."""
    return find_workspace(state(ctx).workspace_option)


def _width(stream: Any) -> int | None:
    """Tables piped to a file or CI log get room (rich assumes 80 columns off a terminal)."""
    if os.environ.get("COLUMNS") or stream.isatty():
        return None
    return 160


def console() -> Console:
    return Console(highlight=False, soft_wrap=True, width=_width(sys.stdout))


def err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True, width=_width(sys.stderr))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
