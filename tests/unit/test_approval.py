"""Four-eyes approval bound to the plan file's bytes, and the gate before every run."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from discovery.facts import HostFacts
from orchestrator import audit
from orchestrator.approval import ApprovalError, approve, gate_run, plan_state
from orchestrator.cli import app
from orchestrator.planning import create_plan
from orchestrator.store import Store
from orchestrator.workspace import Workspace, init_workspace

AUTHOR, REVIEWER = "ana", "budi"


def _facts(name: str, address: str, memory: int = 2048) -> HostFacts:
    return HostFacts(name=name, address=address, reachable=True, memory_mb=memory,
                     collected_at="2026-01-01T00:00:00+00:00")


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    ws = init_workspace(tmp_path / "ws")
    with Store.open(ws.db_path) as store:
        store.save_snapshot([_facts("web1", "10.0.0.1"), _facts("db1", "10.0.0.2")], source="inv.yml")
    monkeypatch.setenv(audit.USER_ENV, AUTHOR)
    create_plan(ws, plan_id="p1", now=datetime(2026, 1, 1, tzinfo=UTC))
    create_plan(ws, plan_id="p2", now=datetime(2026, 1, 2, tzinfo=UTC))
    return ws


def _as(monkeypatch: pytest.MonkeyPatch, who: str) -> None:
    monkeypatch.setenv(audit.USER_ENV, who)


def _state(ws: Workspace, plan_id: str = "p1") -> object:
    with Store.open(ws.db_path) as store:
        return plan_state(ws, plan_id, store, None)


def test_author_cannot_approve_own_plan(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ApprovalError, match="ana created plan p1") as info:
        approve(ws, "p1")
    assert "another person" in info.value.hint


def test_self_approval_when_configured(ws: Workspace) -> None:
    ws.config_path.write_text(ws.config_path.read_text().replace("allow_self_approval = false",
                                                                 "allow_self_approval = true"))
    assert approve(ws, "p1").approver == AUTHOR
    gate_run(ws, "p1", 1, None)


def test_approval_records_who_when_and_digest(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, REVIEWER)
    approval = approve(ws, "p1")
    assert (approval.approver, approval.author) == (REVIEWER, AUTHOR)
    assert approval.digest.startswith("sha256:") and len(approval.digest) == 71
    with Store.open(ws.db_path) as store:
        entry = audit.entry_at(store, approval.audit_seq)
        assert audit.verify(store).ok
    assert entry is not None and entry.kind == "plan.approved" and entry.actor == REVIEWER
    assert entry.payload()["digest"] == approval.digest
    assert gate_run(ws, "p1", 1, None) == {"digest": approval.digest, "approved_by": REVIEWER, "forced": False}


def test_unapproved_plan_is_refused_with_what_to_do(ws: Workspace) -> None:
    with pytest.raises(ApprovalError, match="plan p1 is not approved") as info:
        gate_run(ws, "p1", 1, None)
    assert "pindah plan approve p1" in info.value.hint and "--force" in info.value.hint
    assert info.value.exit_code == 5


def test_any_change_to_the_file_voids_the_approval(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, REVIEWER)
    approve(ws, "p1")
    path = ws.plans_dir / "p1.yaml"
    path.write_bytes(path.read_bytes() + b"\n")  # one byte, same YAML meaning
    with pytest.raises(ApprovalError, match="p1 changed after its approval by budi"):
        gate_run(ws, "p1", 1, None)


def test_stale_plan_is_refused(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, REVIEWER)
    approve(ws, "p1")
    with Store.open(ws.db_path) as store:
        store.save_snapshot([_facts("web1", "10.0.0.1", memory=8192)], source="inv.yml")
    with pytest.raises(ApprovalError, match="p1 is stale") as info:
        gate_run(ws, "p1", 1, None)
    assert "pindah plan check p1" in info.value.hint


def test_force_runs_and_records_the_reason(ws: Workspace) -> None:
    with pytest.raises(ApprovalError):
        gate_run(ws, "p1", 2, "   ")  # a blank reason is no reason
    assert gate_run(ws, "p1", 2, "CAB-1234 emergency")["forced"] is True
    with Store.open(ws.db_path) as store:
        forced = audit.entries(store, kind="run.forced")
    assert [(e.subject, e.payload()["reason"], e.payload()["wave"]) for e in forced] == \
        [("p1", "CAB-1234 emergency", 2)]
    assert "not approved" in forced[0].payload()["problems"][0]


def _copy_row(ws: Workspace, **changes: str) -> None:
    conn = sqlite3.connect(ws.db_path)
    row = list(conn.execute("SELECT plan_id, plan_digest, approver, author, approved_at, audit_seq, audit_hash "
                            "FROM approvals ORDER BY id DESC LIMIT 1").fetchone())
    cols = ["plan_id", "plan_digest", "approver", "author", "approved_at", "audit_seq", "audit_hash"]
    for key, value in changes.items():
        row[cols.index(key)] = value
    conn.execute(f"INSERT INTO approvals ({', '.join(cols)}) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
    conn.commit()
    conn.close()


def test_replayed_approval_of_another_plan_does_not_count(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, REVIEWER)
    approve(ws, "p1")
    p2_digest = _state(ws, "p2").digest  # type: ignore[attr-defined]
    _copy_row(ws, plan_id="p2", plan_digest=p2_digest)  # p1's audit entry, relabelled for p2
    with pytest.raises(ApprovalError, match="plan p2 is not approved"):
        gate_run(ws, "p2", 1, None)


def test_replayed_approval_of_another_digest_does_not_count(ws: Workspace,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, REVIEWER)
    approve(ws, "p1")
    path = ws.plans_dir / "p1.yaml"
    path.write_text(path.read_text().replace("max_wave_servers: 25", "max_wave_servers: 99"))
    _copy_row(ws, plan_digest=_state(ws).digest)  # type: ignore[attr-defined]
    with pytest.raises(ApprovalError, match="changed after its approval"):
        gate_run(ws, "p1", 1, None)


def test_unknown_plan_is_a_plan_error(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, REVIEWER)
    with pytest.raises(Exception, match="no plan 'nope'"):
        approve(ws, "nope")


def test_cli_approve_then_audit(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    own = runner.invoke(app, ["-w", str(ws.root), "plan", "approve", "p1"])
    assert own.exit_code != 0
    _as(monkeypatch, REVIEWER)
    done = runner.invoke(app, ["-w", str(ws.root), "plan", "approve", "p1", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["approver"] == REVIEWER
    shown = runner.invoke(app, ["-w", str(ws.root), "audit", "show", "--json"])
    kinds = [(e["kind"], e["actor"]) for e in json.loads(shown.output)["entries"]]
    assert kinds == [("plan.created", AUTHOR), ("plan.created", AUTHOR), ("plan.approved", REVIEWER)]
