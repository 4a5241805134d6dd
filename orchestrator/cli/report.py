"""`pindah report`: a Markdown summary of the estate, the plan and the run state."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from orchestrator.cli.common import console, workspace
from orchestrator.report import write_report


def report(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Where to write the Markdown "
                                                "(default: <workspace>/reports/report-<timestamp>.md).")] = None,
    plan_id: Annotated[str | None, typer.Option("--plan", help="Plan to report on (default: the newest).")] = None,
) -> None:
    """Write a Markdown report: estate, plan and run state; print its path."""
    path = write_report(workspace(ctx), output=output, plan_id=plan_id)
    console().print(escape(str(path)))


def register(app: typer.Typer) -> None:
    app.command("report")(report)
