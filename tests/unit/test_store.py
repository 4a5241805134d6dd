"""The workspace store: migrations, snapshots history, transactions, refusal of newer schemas."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from discovery.facts import FactError, HostFacts, OsInfo
from orchestrator.errors import StoreError
from orchestrator.store import SCHEMA_VERSION, Store


def _facts(name: str, reachable: bool = True, memory: int = 1024) -> HostFacts:
    os = OsInfo(id="rocky", version_id="9.3", name="Rocky Linux", family="redhat") if reachable else None
    errors = () if reachable else (FactError(fact="host", category="refused", message="connection refused"),)
    return HostFacts(name=name, address="10.0.0.1", reachable=reachable, os=os,
                     memory_mb=memory if reachable else None, errors=errors)


def test_new_store_is_at_the_current_schema(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db", create=True) as store:
        assert store.schema_version == SCHEMA_VERSION


def test_missing_store_is_an_error_not_a_new_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="missing"):
        Store.open(tmp_path / "absent.db")
    assert not (tmp_path / "absent.db").exists()


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store.open(path, create=True).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer"):
        Store.open(path)
    assert path.read_bytes() == before


def test_garbage_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot be read"):
        Store.open(path)


def test_a_store_that_cannot_be_opened_is_not_called_damaged(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store.open(path, create=True).close()
    (tmp_path / "s.db-wal").mkdir()  # the operating system refuses to open the write-ahead log
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"SQLITE_CANTOPEN") as caught:
        Store.open(path)
    assert "was not changed" in caught.value.hint and "damaged" not in caught.value.hint
    assert path.read_bytes() == before


def test_a_second_open_keeps_the_first_connections_locks(tmp_path: Path) -> None:
    """A run holds the store open and records its start through a second open; a 'pindah status' in another
    process then opens and closes the store. The run's connection must keep its WAL: with the header check
    reading the file through its own descriptor, that close dropped the run's locks, the other process
    deleted the WAL, and the run's next open failed with "disk I/O error" having lost its writes."""
    path = tmp_path / "s.db"
    Store.open(path, create=True).close()
    run = Store.open(path)
    try:
        Store.open(path).close()
        other = ("import sys; from pathlib import Path; from orchestrator.store import Store; "
                 "Store.open(Path(sys.argv[1])).close()")
        subprocess.run([sys.executable, "-c", other, str(path)], check=True,
                       cwd=Path(__file__).resolve().parents[2])
        assert (tmp_path / "s.db-wal").exists()
        snapshot = run.begin_snapshot("after the other process", 1)
        with Store.open(path) as again:
            assert [s.id for s in again.snapshots(incomplete=True)] == [snapshot]
    finally:
        run.close()
    with Store.open(path) as last:  # every connection closed: the header is checked again
        assert [s.id for s in last.snapshots(incomplete=True)] == [snapshot]


def test_snapshots_keep_history_and_latest_facts_prefer_reachable(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db", create=True) as store:
        first = store.save_snapshot([_facts("a", memory=1024), _facts("b")], source="inv.yml")
        second = store.save_snapshot([_facts("a", reachable=False), _facts("c")], source="inv.yml")
        assert [s.id for s in store.snapshots()] == [first, second]
        assert store.snapshots()[1].failed_count == 1
        assert [f.name for f in store.snapshot_facts(first)] == ["a", "b"]
        latest = {f.name: f for f in store.latest_facts()}
        assert set(latest) == {"a", "b", "c"}
        assert latest["a"].reachable and latest["a"].memory_mb == 1024


def test_failed_transaction_stores_nothing(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db", create=True) as store:
        with pytest.raises(sqlite3.IntegrityError):
            store.upsert_dependencies([("a", "b", 80, 1.0), ("a", "b", 80, 2.0), ("c", None, 1, 1.0)])  # type: ignore[list-item]
        assert store.dependencies() == []


def test_run_state_latest_per_server(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db", create=True) as store:
        run1 = store.create_run("p1", 1, ["a", "b"], "pending")
        store.set_server_state(run1, "a", state="failed", phase="replicate", error="boom")
        run2 = store.create_run("p1", 1, ["a"], "pending")
        store.set_server_state(run2, "a", state="done", phase="validate", data={"target": "i-1"})
        states = {(r.server, r.state) for r in store.run_servers("p1")}
        assert states == {("a", "done"), ("b", "pending")}
        store.add_event(run2, "a", "validate", "runner_on_ok", {"task": "x"})
        assert store.events(server="a")[0]["data"] == {"task": "x"}


def test_an_open_snapshot_counts_only_once_complete(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db", create=True) as store:
        whole = store.save_snapshot([_facts("a")], source="inv.yml")
        open_id = store.begin_snapshot("inv.yml", host_count=3)
        store.add_snapshot_hosts(open_id, [("a", False, _facts("a", reachable=False).model_dump_json())])
        store.add_snapshot_hosts(open_id, [("b", True, _facts("b").model_dump_json())])
        assert [s.id for s in store.snapshots()] == [whole]
        assert [f.name for f in store.latest_facts()] == ["a"]
        assert [s.complete for s in store.snapshots(incomplete=True)] == [True, False]
        done = store.finish_snapshot(open_id)
        assert (done.id, done.host_count, done.failed_count, done.complete) == (open_id, 2, 1, True)
        assert [s.id for s in store.snapshots()] == [whole, open_id]
        assert [(f.name, f.reachable) for f in store.latest_facts()] == [("a", True), ("b", True)]
        assert [f.name for f in store.host_facts(open_id, ["b", "zz", "a"])] == ["b", "a"]


def test_a_store_from_before_streamed_snapshots_keeps_its_snapshots(tmp_path: Path) -> None:
    from orchestrator.store import MIGRATIONS

    path = tmp_path / "s.db"
    with sqlite3.connect(path) as conn:  # a workspace written by the schema-2 pindah
        for migration in MIGRATIONS[:2]:
            conn.executescript(migration)
        conn.execute("PRAGMA user_version = 2")
        conn.execute("INSERT INTO snapshots (created_at, source, host_count, failed_count) "
                     "VALUES ('2026-01-01T00:00:00+00:00', 'inv.yml', 1, 0)")
        conn.execute("INSERT INTO host_facts VALUES (1, 'a', 1, ?)", (_facts("a").model_dump_json(),))
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert [(s.id, s.complete) for s in store.snapshots()] == [(1, True)]
        assert [f.name for f in store.latest_facts()] == ["a"]
