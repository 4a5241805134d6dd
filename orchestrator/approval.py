"""Four-eyes approval of plan files, and the gate every run passes first.

An approval binds an approver to the sha256 of the plan file's exact bytes: any change to the file
voids it. It is stored twice, as an ``approvals`` row and as a ``plan.approved`` audit entry; a row
counts only when its audit entry is intact and names the same plan, digest and approver, so a row
copied from another plan or digest (a replay) never counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator import audit
from orchestrator.errors import PlanError
from orchestrator.plan import Plan, load_plan, plan_path
from orchestrator.store import Store, now_iso
from orchestrator.workspace import Workspace

EXIT_REFUSED = 5


class ApprovalError(PlanError):
    """A plan cannot be approved, or a run is refused for want of a valid approval."""

    exit_code = EXIT_REFUSED


@dataclass(frozen=True)
class Approval:
    plan_id: str
    digest: str
    approver: str
    author: str | None
    approved_at: str
    audit_seq: int


@dataclass(frozen=True)
class PlanState:
    """What the gate knows about one plan: its file digest, author, valid approval and staleness."""

    plan_id: str
    digest: str
    author: str | None
    approval: Approval | None
    voided: tuple[Approval, ...]  # approvals of an earlier version of the file
    input_digest: str
    current_input_digest: str | None

    @property
    def stale(self) -> bool:
        return self.current_input_digest is not None and self.current_input_digest != self.input_digest

    def problems(self) -> list[str]:
        out = []
        if self.approval is None and self.voided:
            out.append(f"plan {self.plan_id} changed after its approval by {self.voided[-1].approver} "
                       f"(approved digest {self.voided[-1].digest[:12]}, file now {self.digest[:12]})")
        elif self.approval is None:
            out.append(f"plan {self.plan_id} is not approved")
        if self.stale:
            out.append(f"plan {self.plan_id} is stale: built from inputs {self.input_digest[:19]}, the current "
                       f"inventory and discovery give {(self.current_input_digest or '')[:19]}")
        return out


def file_digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def self_approval_allowed(ws: Workspace) -> bool:
    section = ws.config().get("approval", {})
    return isinstance(section, dict) and section.get("allow_self_approval") is True


def record_plan_created(ws: Workspace, plan: Plan, path: Path) -> audit.AuditEntry:
    """Audit a new plan file with its author (who approves must be someone else)."""
    with Store.open(ws.db_path) as store:
        return audit.record(store, kind="plan.created", subject=plan.id,
                            data={"author": audit.current_actor(), "os_user": audit.os_user(),
                                  "digest": file_digest(path), "input_digest": plan.input_digest,
                                  "servers": len(plan.servers), "waves": len(plan.waves)})


def author_of(store: Store, plan_id: str) -> str | None:
    created = [e for e in audit.entries(store, kind="plan.created", subject=plan_id) if audit.intact(e)]
    return str(created[-1].payload().get("author")) if created else None


def _rows(store: Store, plan_id: str) -> list[Approval]:
    with store.transaction() as conn:
        rows = conn.execute("SELECT plan_id, plan_digest, approver, author, approved_at, audit_seq, audit_hash "
                            "FROM approvals WHERE plan_id = ? ORDER BY id", (plan_id,)).fetchall()
    out = []
    for pid, digest, approver, author, when, seq, audit_hash in rows:
        entry = audit.entry_at(store, int(seq))
        if entry is None or entry.hash != audit_hash or not audit.intact(entry):
            continue
        data = entry.payload()
        if (entry.kind, entry.subject, data.get("digest"), data.get("approver")) != \
                ("plan.approved", pid, digest, approver):
            continue
        out.append(Approval(pid, digest, approver, author, when, int(seq)))
    return out


def plan_state(ws: Workspace, plan_id: str, store: Store, current_input_digest: str | None) -> PlanState:
    plan = load_plan(ws.plans_dir, plan_id)
    digest = file_digest(plan_path(ws.plans_dir, plan_id))
    author = author_of(store, plan_id)
    allow_self = self_approval_allowed(ws)
    counted = [a for a in _rows(store, plan_id) if allow_self or a.approver != author]
    valid = [a for a in counted if a.digest == digest]
    return PlanState(plan_id=plan_id, digest=digest, author=author, approval=valid[-1] if valid else None,
                     voided=tuple(a for a in counted if a.digest != digest), input_digest=plan.input_digest,
                     current_input_digest=current_input_digest)


def approve(ws: Workspace, plan_id: str) -> Approval:
    """Record the current actor's approval of the plan file as it is now."""
    load_plan(ws.plans_dir, plan_id)  # a readable plan, or a clear error
    path = plan_path(ws.plans_dir, plan_id)
    digest, approver = file_digest(path), audit.current_actor()
    with Store.open(ws.db_path) as store:
        author = author_of(store, plan_id)
        _check_four_eyes(ws, plan_id, author, approver)
        with store.transaction() as conn:
            entry = audit.append(conn, kind="plan.approved", subject=plan_id, actor=approver,
                                 data={"digest": digest, "approver": approver, "author": author,
                                       "os_user": audit.os_user()})
            stamp = now_iso()
            conn.execute("INSERT INTO approvals (plan_id, plan_digest, approver, author, approved_at, audit_seq, "
                         "audit_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (plan_id, digest, approver, author, stamp, entry.seq, entry.hash))
    return Approval(plan_id, digest, approver, author, stamp, entry.seq)


def _check_four_eyes(ws: Workspace, plan_id: str, author: str | None, approver: str) -> None:
    if self_approval_allowed(ws):
        return
    if author is None:
        raise ApprovalError(f"plan {plan_id} has no recorded author in this workspace, so a second person "
                            "cannot be told apart from the author",
                            hint="create plans with 'pindah plan create' in this workspace, or set "
                                 f"[approval] allow_self_approval = true in {ws.config_path.name}")
    if author == approver:
        raise ApprovalError(f"{approver} created plan {plan_id} and cannot also approve it",
                            hint="another person approves it (they run 'pindah plan approve' as themselves, "
                                 "$PINDAH_USER names them), or set [approval] allow_self_approval = true")


def gate_run(ws: Workspace, plan_id: str, wave: int, force_reason: str | None) -> dict[str, Any]:
    """Refuse to run an unapproved, changed or stale plan unless forced with a reason.

    Returns what the run's audit entries should say about the approval; records a forced override.
    """
    from orchestrator.planning import collect_inputs

    with Store.open(ws.db_path) as store:
        current = collect_inputs(store).digest() if store.latest_snapshot() or store.servers() else None
        state = plan_state(ws, plan_id, store, current)
        problems = state.problems()
        if problems and not (force_reason and force_reason.strip()):
            raise ApprovalError("; ".join(problems), hint=_hint(state))
        if problems:
            audit.record(store, kind="run.forced", subject=plan_id,
                         data={"wave": wave, "reason": (force_reason or "").strip(), "problems": problems,
                               "digest": state.digest})
    return {"digest": state.digest, "approved_by": state.approval.approver if state.approval else None,
            "forced": bool(problems)}


def _hint(state: PlanState) -> str:
    steps = []
    if state.stale:
        steps.append(f"re-plan from the current inputs ('pindah plan create --base {state.plan_id}') and have it "
                     "approved, or check what changed with 'pindah plan check " + state.plan_id + "'")
    elif state.approval is None:
        steps.append(f"review plans/{state.plan_id}.yaml, then another person runs "
                     f"'pindah plan approve {state.plan_id}'")
    steps.append("or run with --force REASON (the reason goes into the audit log)")
    return "; ".join(steps)


def record_run(ws: Workspace, plan_id: str, kind: str, data: dict[str, Any]) -> None:
    """Audit the start or end of a run (kind ``run.started`` / ``run.finished``)."""
    with Store.open(ws.db_path) as store:
        audit.record(store, kind=kind, subject=plan_id, data=data)
