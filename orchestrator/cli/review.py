"""`pindah plan approve|check`: four-eyes approval of a plan file, and the CI drift check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from orchestrator.approval import approve
from orchestrator.cli.common import console, print_json, workspace
from orchestrator.cli.plan import plan_app
from orchestrator.plancheck import CheckResult, check_plan, junit_xml


@plan_app.command("approve")
def approve_command(
    ctx: typer.Context,
    plan_id: Annotated[str, typer.Argument(help="The plan id (file name without .yaml).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the approval as JSON.")] = False,
) -> None:
    """Approve plans/<ID>.yaml as it is now, as $PINDAH_USER (else the OS user); any later edit voids it."""
    approval = approve(workspace(ctx), plan_id)
    if as_json:
        print_json({"plan": approval.plan_id, "digest": approval.digest, "approver": approval.approver,
                    "author": approval.author, "approved_at": approval.approved_at,
                    "audit_seq": approval.audit_seq})
        return
    console().print(f"plan {escape(approval.plan_id)} approved by {escape(approval.approver)} at "
                    f"{escape(approval.approved_at)} (author {escape(approval.author or 'unknown')}); "
                    f"file digest {escape(approval.digest)}; audit entry {approval.audit_seq}")


def _render_check(result: CheckResult) -> None:
    out = console()
    approved = f"approved by {result.approved_by}" if result.approved_by else "not approved"
    out.print(f"plan {escape(result.plan_id)} ({escape(approved)}) against discovery snapshot "
              f"{result.snapshot_id} of {escape(result.snapshot_at)}:")
    for f in result.findings:
        style = "red" if f.severity == "drift" else "dim"
        out.print(f"  [{style}]{f.severity.upper():5}[/] {f.kind:10} {escape(f.message)}")
    drift = sum(1 for f in result.findings if f.severity == "drift")
    if drift:
        out.print(f"[red]DRIFTED[/]: {drift} finding(s) no longer match the plan; re-plan with "
                  f"'pindah plan create --base {escape(result.plan_id)}' and have it approved")
    else:
        out.print("[green]VALID[/]: the plan still matches the latest discovery")


@plan_app.command("check")
def check_command(
    ctx: typer.Context,
    plan_id: Annotated[str, typer.Argument(help="The plan id (file name without .yaml).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write the result as JUnit XML to FILE.",
                                               metavar="FILE")] = None,
) -> None:
    """Re-check a plan against the latest discovery: servers gone or appeared, new dependencies crossing
    waves, wave storage over its limit. Exit 0: still valid, 4: drifted, 1: error."""
    result = check_plan(workspace(ctx), plan_id)
    if junit is not None:
        junit.write_text(junit_xml(result), encoding="utf-8")
    if as_json:
        print_json({"plan": result.plan_id, "snapshot": result.snapshot_id, "snapshot_at": result.snapshot_at,
                    "approved_by": result.approved_by, "drifted": result.drifted,
                    "findings": [f.model_dump() for f in result.findings]})
    else:
        _render_check(result)
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    """The commands above are on the `plan` group, which orchestrator.cli.plan adds to the app."""
