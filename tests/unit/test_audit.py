"""The hash-chained audit log: appends link up; edits, insertions and removals are found by seq."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator import audit
from orchestrator.cli import app
from orchestrator.store import Store
from orchestrator.workspace import Workspace, init_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "ws")
    with Store.open(ws.db_path) as store:
        for n in range(1, 6):
            audit.record(store, kind="discovery", subject=f"snapshot {n}", data={"hosts": n}, actor="ana")
    return ws


def _sql(ws: Workspace, statement: str, params: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(ws.db_path)
    conn.execute(statement, params)
    conn.commit()
    conn.close()


def _verify(ws: Workspace, head: str | None = None) -> audit.Verification:
    with Store.open(ws.db_path) as store:
        return audit.verify(store, head=head)


def test_entries_chain_from_genesis(ws: Workspace) -> None:
    with Store.open(ws.db_path) as store:
        chain = audit.entries(store)
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
    assert _verify(ws).ok and _verify(ws).head_hash == chain[-1].hash


def test_edited_entry_is_named(ws: Workspace) -> None:
    _sql(ws, "UPDATE audit_log SET data = ? WHERE seq = 3", (json.dumps({"hosts": 300}),))
    result = _verify(ws)
    assert not result.ok
    assert [p.seq for p in result.problems] == [3]
    assert "edited" in result.problems[0].message


def test_edit_with_recomputed_hash_breaks_the_next_link(ws: Workspace) -> None:
    with Store.open(ws.db_path) as store:
        e = audit.entry_at(store, 2)
    assert e is not None
    forged = audit.entry_hash(2, created_at=e.created_at, actor="mallory", kind=e.kind, subject=e.subject,
                              data=e.data, prev_hash=e.prev_hash)
    _sql(ws, "UPDATE audit_log SET actor = 'mallory', hash = ? WHERE seq = 2", (forged,))
    result = _verify(ws)
    assert [p.seq for p in result.problems] == [3]
    assert "prev_hash" in result.problems[0].message


def test_removed_entry_is_named(ws: Workspace) -> None:
    _sql(ws, "DELETE FROM audit_log WHERE seq = 2")
    result = _verify(ws)
    assert result.problems[0].seq == 3
    assert "removed" in result.problems[0].message


def test_inserted_entry_is_found(ws: Workspace) -> None:
    # make room after seq 2 by renumbering the tail, then insert a well-formed looking entry
    _sql(ws, "UPDATE audit_log SET seq = seq + 100 WHERE seq > 2")
    _sql(ws, "UPDATE audit_log SET seq = seq - 99 WHERE seq > 100")
    with Store.open(ws.db_path) as store:
        prev = audit.entry_at(store, 2)
    assert prev is not None
    data = audit.canonical({"hosts": 99})
    digest = audit.entry_hash(3, created_at=prev.created_at, actor="mallory", kind="discovery", subject="x",
                              data=data, prev_hash=prev.hash)
    _sql(ws, "INSERT INTO audit_log VALUES (3, ?, 'mallory', 'discovery', 'x', ?, ?, ?)",
         (prev.created_at, data, prev.hash, digest))
    result = _verify(ws)
    assert not result.ok
    assert result.problems[0].seq == 4  # the entry after the inserted one no longer links or hashes


def test_tail_removal_needs_a_recorded_head(ws: Workspace) -> None:
    head = _verify(ws).head_hash
    _sql(ws, "DELETE FROM audit_log WHERE seq = 5")
    assert _verify(ws).ok  # a shorter chain is still a chain
    result = _verify(ws, head=head)
    assert not result.ok and "no longer in the log" in result.problems[0].message


def test_secret_keys_never_stored(ws: Workspace) -> None:
    with Store.open(ws.db_path) as store:
        with pytest.raises(audit.AuditError, match="api_key"):
            audit.record(store, kind="k", subject="s", data={"nested": [{"api_key": "v"}]})
        assert len(audit.entries(store)) == 5


def test_cli_verify_and_show(ws: Workspace) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["-w", str(ws.root), "audit", "verify"])
    assert ok.exit_code == 0 and "intact: 5 entries" in ok.output
    shown = runner.invoke(app, ["-w", str(ws.root), "audit", "show", "--json"])
    assert [e["seq"] for e in json.loads(shown.output)["entries"]] == [1, 2, 3, 4, 5]
    one = runner.invoke(app, ["-w", str(ws.root), "audit", "show", "--subject", "snapshot 4", "--json"])
    assert [e["data"] for e in json.loads(one.output)["entries"]] == [{"hosts": 4}]
    _sql(ws, "UPDATE audit_log SET actor = 'eve' WHERE seq = 4")
    bad = runner.invoke(app, ["-w", str(ws.root), "audit", "verify"])
    assert bad.exit_code == 6
    assert "seq 4" in bad.output
