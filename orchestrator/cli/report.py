"""`pindah report`: the estate, the plan and the run state as Markdown (for review), HTML or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from orchestrator.cli.common import console, workspace
from orchestrator.reporting.collect import write_report_file


def report(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Where to write it "
                                                "(default: <workspace>/reports/report-<timestamp>.<format>).")] = None,
    plan_id: Annotated[str | None, typer.Option("--plan", help="Plan to report on (default: the newest).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md (pull-request review), html (one self-contained "
                                     "page: graph, timeline, waves, cost, blockers, runs) or json (the same data "
                                     "as the page).")] = "md",
) -> None:
    """Write a report of the estate, the plan and the run state; print its path."""
    path = write_report_file(workspace(ctx), fmt=fmt, output=output, plan_id=plan_id)
    console().print(escape(str(path)))


def register(app: typer.Typer) -> None:
    app.command("report")(report)
