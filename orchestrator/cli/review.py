"""`pindah plan approve|check`: four-eyes approval of a plan file, and the CI drift check."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from orchestrator.approval import approve
from orchestrator.cli.common import console, print_json, workspace
from orchestrator.cli.plan import plan_app


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


def register(app: typer.Typer) -> None:
    """The commands above are on the `plan` group, which orchestrator.cli.plan adds to the app."""
