"""`pindah audit verify|show`: the workspace's hash-chained audit log."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from orchestrator import audit
from orchestrator.cli.common import console, err_console, print_json, workspace
from orchestrator.store import Store

EXIT_TAMPERED = 6
audit_app = typer.Typer(help="Read and verify the audit log (discoveries, plans, approvals, runs, overrides).",
                        no_args_is_help=True)


@audit_app.command("verify")
def verify_command(
    ctx: typer.Context,
    head: Annotated[str | None, typer.Option(
        "--head", help="A head hash printed by an earlier verify: fail when it is no longer in the log "
                       "(entries removed from the end, or the log rewritten).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check every entry's hash and link; exit 6 naming the first broken seq when anything was tampered with."""
    with Store.open(workspace(ctx).db_path) as store:
        result = audit.verify(store, head=head)
    if as_json:
        print_json({"ok": result.ok, "entries": result.entries, "head_seq": result.head_seq,
                    "head_hash": result.head_hash,
                    "problems": [p.model_dump() for p in result.problems]})
    elif result.ok:
        console().print(f"audit log intact: {result.entries} entries, head seq {result.head_seq} "
                        f"hash {result.head_hash}")
    else:
        err = err_console()
        for problem in result.problems:
            err.print(f"[red]seq {problem.seq}:[/] {escape(problem.message)}")
        err.print(f"audit log TAMPERED: first broken entry seq {result.problems[0].seq}")
    if not result.ok:
        raise typer.Exit(EXIT_TAMPERED)


@audit_app.command("show")
def show_command(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option("--kind", help="Only entries of this kind (e.g. plan.approved).")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Only entries about this subject "
                                                                  "(a plan id, 'snapshot N').")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the entries as JSON.")] = False,
) -> None:
    """List audit entries, oldest first: who did what to which plan or snapshot, when."""
    with Store.open(workspace(ctx).db_path) as store:
        found = audit.entries(store, kind=kind, subject=subject)
    if as_json:
        print_json({"entries": [e.as_json() for e in found]})
        return
    table = Table("seq", "time", "actor", "kind", "subject", "data", "hash")
    for e in found:
        table.add_row(str(e.seq), escape(e.created_at), escape(e.actor), escape(e.kind), escape(e.subject),
                      escape(e.data), e.hash[:12])
    console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
