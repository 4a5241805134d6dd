"""Shared pieces of the CLI layer: the workspace lookup, consoles and JSON output."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
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


def print_json_stream(fields: Sequence[tuple[str, Any]]) -> None:
    """``print_json`` of an object with these fields, byte for byte, but a value that is an iterator is
    written one item at a time (a list of thousands of hosts is never whole in memory)."""
    write = sys.stdout.write
    write("{")
    for number, (key, value) in enumerate(fields):
        write(("," if number else "") + "\n  " + json.dumps(key) + ": ")
        if isinstance(value, Iterator):
            empty = True
            for item in value:
                write(("[" if empty else ",") + "\n    " + _nested(item, "    "))
                empty = False
            write("[]" if empty else "\n  ]")
        else:
            write(_nested(value, "  "))
    write("\n}\n" if fields else "}\n")


def _nested(value: Any, indent: str) -> str:
    """A value as ``json.dumps(indent=2)`` writes it at this depth (its strings hold no raw newlines)."""
    return json.dumps(value, indent=2, sort_keys=False, default=str).replace("\n", "\n" + indent)
