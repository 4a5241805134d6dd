"""The workspace store: one SQLite database, opened only through this module.

Every write is one transaction; a crash loses nothing committed. The schema is versioned and
migrated in code (``MIGRATIONS``); a database from a newer pindah is refused, never altered.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from discovery.facts import HostFacts
from orchestrator.errors import StoreError

MIGRATIONS: tuple[str, ...] = (
    # 1: first schema
    """
    CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        source TEXT NOT NULL,
        host_count INTEGER NOT NULL,
        failed_count INTEGER NOT NULL
    );
    CREATE TABLE host_facts (
        snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
        name TEXT NOT NULL,
        reachable INTEGER NOT NULL,
        facts TEXT NOT NULL,
        PRIMARY KEY (snapshot_id, name)
    );
    CREATE TABLE servers (
        name TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        imported_at TEXT NOT NULL
    );
    CREATE TABLE dependencies (
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        port INTEGER NOT NULL,
        weight REAL NOT NULL,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (source, target, port)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        plan_id TEXT NOT NULL,
        wave INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL
    );
    CREATE TABLE run_servers (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        server TEXT NOT NULL,
        state TEXT NOT NULL,
        phase TEXT,
        data TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (run_id, server)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        server TEXT,
        phase TEXT,
        created_at TEXT NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX events_by_server ON events(server, id);
    """,
    # 2: the hash-chained audit log and plan approvals (orchestrator/audit.py, orchestrator/approval.py)
    """
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_by_subject ON audit_log(kind, subject, seq);
    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        plan_id TEXT NOT NULL,
        plan_digest TEXT NOT NULL,
        approver TEXT NOT NULL,
        author TEXT,
        approved_at TEXT NOT NULL,
        audit_seq INTEGER NOT NULL,
        audit_hash TEXT NOT NULL
    );
    CREATE INDEX approvals_by_plan ON approvals(plan_id, id);
    """,
    # 3: streamed discovery: a snapshot is opened first, hosts are added as they finish, then it is marked
    # complete; snapshots stored before this schema were written whole, so they are complete
    """
    ALTER TABLE snapshots ADD COLUMN complete INTEGER NOT NULL DEFAULT 1;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_IOERR, SQLITE_CANTOPEN = 10, 14  # primary result codes: the operating system refused a read or open
IO_HINT = ("the file itself was not changed: check free disk space, its permissions, and that nothing else "
           "(a mount, a cleanup job) removed files beside it in .pindah/, then retry")
DAMAGED_HINT = ("the file is damaged and was left as it is; restore .pindah/state.db from a backup "
                "(or move it aside and run 'pindah init' to start an empty store)")


def check_file(path: Path) -> None:
    """Refuse an empty, foreign or truncated database file by its header alone (read-only, nothing written).

    An empty file would otherwise be taken for a new store and silently replace what was lost.
    """
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
        size = path.stat().st_size
    except OSError as exc:
        raise StoreError(f"workspace store {path} cannot be read: {exc.strerror}",
                         hint="check the file's permissions") from exc
    if size == 0:
        raise StoreError(f"workspace store {path} cannot be read: it is empty (0 bytes), truncated or its "
                         "creation interrupted", hint=DAMAGED_HINT)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise StoreError(f"workspace store {path} cannot be read: not a SQLite database (bad header)",
                         hint=DAMAGED_HINT)
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    counter_valid = header[24:28] == header[92:96]
    if page_size < 512 or size % page_size or (counter_valid and pages * page_size > size):
        raise StoreError(f"workspace store {path} cannot be read: truncated to {size} bytes, its header says "
                         f"{pages} page(s) of {page_size}", hint=DAMAGED_HINT)


def _check_pages(conn: sqlite3.Connection, path: Path) -> None:
    """SQLite's own structural check of every page (tens of milliseconds for 100 MB)."""
    found = [row[0] for row in conn.execute("PRAGMA quick_check(5)").fetchall()]
    if found != ["ok"]:
        raise StoreError(f"workspace store {path} cannot be read: damaged: {'; '.join(map(str, found))[:400]}",
                         hint=DAMAGED_HINT)


def _open_error(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    name = getattr(exc, "sqlite_errorname", None)  # e.g. SQLITE_IOERR_SHMMAP: says which I/O failed
    io = (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (SQLITE_IOERR, SQLITE_CANTOPEN)
    return StoreError(f"workspace store {path} cannot be read: {exc}{f' ({name})' if name else ''}",
                      hint=IO_HINT if io else DAMAGED_HINT)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Snapshot:
    id: int
    created_at: str
    source: str
    host_count: int
    failed_count: int
    complete: bool = True


@dataclass(frozen=True)
class RunRecord:
    id: int
    plan_id: str
    wave: int
    started_at: str
    finished_at: str | None
    status: str


@dataclass(frozen=True)
class ServerChange:
    """One server's new row in a run and the event that records why; written in one transaction."""

    server: str
    state: str
    phase: str | None
    error: str | None
    data: dict[str, Any]
    kind: str
    event: dict[str, Any]


@dataclass(frozen=True)
class RunServer:
    run_id: int
    plan_id: str
    wave: int
    server: str
    state: str
    phase: str | None
    data: dict[str, Any]
    error: str | None
    updated_at: str


# Open connections per database file (device, inode) in this process. Closing any file descriptor of a
# file drops every POSIX lock the process holds on it, SQLite's included: a header check with a plain
# open()/close() while this process has the store open would let another process (a 'pindah status'
# during a run) take the store for unused, checkpoint and delete the WAL under the open connection, which
# then fails with "disk I/O error" and loses what it writes. The header was checked when the first
# connection opened; later ones skip it while one is open.
_OPEN: dict[tuple[int, int], int] = {}
_OPEN_LOCK = threading.Lock()


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


class Store:
    """A connection to the workspace database. Use :meth:`open`; close when done."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._file: tuple[int, int] | None = None

    @classmethod
    def open(cls, path: Path, *, create: bool = False) -> Store:
        """Open (or with ``create``, make) the store; a damaged file is refused before anything writes to it."""
        if not path.exists() and not create:
            raise StoreError(f"workspace store {path} is missing",
                             hint="run 'pindah init' in the workspace to create it")
        with _OPEN_LOCK:
            held = _OPEN.get(_file_id(path) or (-1, -1), 0) > 0
            if path.exists() and not held:
                check_file(path)
            try:
                conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            except sqlite3.DatabaseError as exc:
                raise _open_error(path, exc) from exc
            store = cls(conn, path)
            store._register()  # connect() has created a new store's (empty) file
        try:
            _check_pages(conn, path)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            store._migrate()
        except sqlite3.DatabaseError as exc:
            store.close()
            raise _open_error(path, exc) from exc
        except BaseException:
            store.close()
            raise
        return store

    def _register(self) -> None:  # with _OPEN_LOCK held
        self._file = _file_id(self.path)
        if self._file is not None:
            _OPEN[self._file] = _OPEN.get(self._file, 0) + 1

    def close(self) -> None:
        self._conn.close()
        with _OPEN_LOCK:
            if self._file is not None and self._file in _OPEN:
                _OPEN[self._file] -= 1
                if not _OPEN[self._file]:
                    del _OPEN[self._file]
            self._file = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(f"workspace store {self.path} has schema {version}, newer than this pindah "
                             f"({SCHEMA_VERSION})", hint="upgrade pindah; the store was left untouched")
        for index in range(version, SCHEMA_VERSION):
            with self.transaction() as conn:
                for statement in MIGRATIONS[index].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {index + 1}")

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    # -- discovery snapshots -------------------------------------------------------------
    # A snapshot is complete (1) once every host it was opened for is stored; an interrupted discovery
    # leaves it incomplete (0): kept for inspection, ignored by every reader below unless asked for.
    def save_snapshot(self, facts: Sequence[HostFacts], source: str) -> int:
        """Store a whole snapshot in one transaction."""
        failed = sum(1 for f in facts if not f.reachable)
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO snapshots (created_at, source, host_count, failed_count, complete) "
                "VALUES (?, ?, ?, ?, 1)", (now_iso(), source, len(facts), failed))
            snapshot_id = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT INTO host_facts (snapshot_id, name, reachable, facts) VALUES (?, ?, ?, ?)",
                [(snapshot_id, f.name, int(f.reachable), f.model_dump_json()) for f in facts])
        return snapshot_id

    def begin_snapshot(self, source: str, host_count: int) -> int:
        """Open an incomplete snapshot for ``host_count`` hosts; add them with :meth:`add_snapshot_hosts`."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO snapshots (created_at, source, host_count, failed_count, complete) "
                "VALUES (?, ?, ?, 0, 0)", (now_iso(), source, host_count))
            return int(cur.lastrowid or 0)

    def add_snapshot_hosts(self, snapshot_id: int, rows: Sequence[tuple[str, bool, str]]) -> None:
        """Add ``(name, reachable, facts JSON)`` rows to an open snapshot in one transaction."""
        if not rows:
            return
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO host_facts (snapshot_id, name, reachable, facts) VALUES (?, ?, ?, ?)",
                [(snapshot_id, name, int(reachable), raw) for name, reachable, raw in rows])

    def finish_snapshot(self, snapshot_id: int) -> Snapshot:
        """Mark an open snapshot complete; its counts are those of the hosts stored in it."""
        with self.transaction() as conn:
            hosts, failed = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(1 - reachable), 0) FROM host_facts WHERE snapshot_id = ?",
                (snapshot_id,)).fetchone()
            conn.execute("UPDATE snapshots SET host_count = ?, failed_count = ?, complete = 1 WHERE id = ?",
                         (hosts, failed, snapshot_id))
        found = next((s for s in self.snapshots() if s.id == snapshot_id), None)
        if found is None:
            raise StoreError(f"snapshot {snapshot_id} vanished while it was being completed")
        return found

    def snapshots(self, *, incomplete: bool = False) -> list[Snapshot]:
        """Complete snapshots, oldest first; with ``incomplete``, interrupted ones too."""
        rows = self._conn.execute(
            "SELECT id, created_at, source, host_count, failed_count, complete FROM snapshots "
            "WHERE complete = 1 OR ? ORDER BY id", (int(incomplete),)).fetchall()
        return [Snapshot(row[0], row[1], row[2], row[3], row[4], bool(row[5])) for row in rows]

    def latest_snapshot(self) -> Snapshot | None:
        found = self.snapshots()
        return found[-1] if found else None

    def snapshot_facts(self, snapshot_id: int) -> list[HostFacts]:
        rows = self._conn.execute(
            "SELECT facts FROM host_facts WHERE snapshot_id = ? ORDER BY name", (snapshot_id,)).fetchall()
        return [HostFacts.model_validate_json(row[0]) for row in rows]

    def host_facts(self, snapshot_id: int, names: Iterable[str]) -> Iterator[HostFacts]:
        """The named hosts of one snapshot, one at a time in the order given (absent names are skipped)."""
        for name in names:
            row = self._conn.execute("SELECT facts FROM host_facts WHERE snapshot_id = ? AND name = ?",
                                     (snapshot_id, name)).fetchone()
            if row is not None:
                yield HostFacts.model_validate_json(row[0])

    def latest_facts(self) -> list[HostFacts]:
        """The newest facts of every host ever discovered (a host keeps its last reachable probe), from
        complete snapshots only."""
        rows = self._conn.execute(
            """SELECT h.name, h.snapshot_id, h.reachable FROM host_facts h JOIN snapshots s ON s.id = h.snapshot_id
               WHERE s.complete = 1 ORDER BY h.snapshot_id""").fetchall()
        best: dict[str, tuple[int, bool]] = {}
        for name, snapshot_id, reachable in rows:  # choose by the flags, parse only the chosen rows
            if reachable or name not in best or not best[name][1]:
                best[name] = (snapshot_id, bool(reachable))
        found = []
        for name in sorted(best):
            row = self._conn.execute("SELECT facts FROM host_facts WHERE snapshot_id = ? AND name = ?",
                                     (best[name][0], name)).fetchone()
            found.append(HostFacts.model_validate_json(row[0]))
        return found

    # -- imports ---------------------------------------------------------------------------
    def upsert_servers(self, servers: Iterable[tuple[str, dict[str, Any]]]) -> int:
        stamp = now_iso()
        rows = [(name, json.dumps(data, sort_keys=True), stamp) for name, data in servers]
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO servers (name, data, imported_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET data = excluded.data, imported_at = excluded.imported_at",
                rows)
        return len(rows)

    def servers(self) -> dict[str, dict[str, Any]]:
        rows = self._conn.execute("SELECT name, data FROM servers ORDER BY name").fetchall()
        return {name: json.loads(data) for name, data in rows}

    def upsert_dependencies(self, deps: Iterable[tuple[str, str, int, float]]) -> int:
        stamp = now_iso()
        rows = [(s, t, p, w, stamp) for s, t, p, w in deps]
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO dependencies (source, target, port, weight, imported_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(source, target, port) DO UPDATE SET weight = excluded.weight, "
                "imported_at = excluded.imported_at", rows)
        return len(rows)

    def dependencies(self) -> list[tuple[str, str, int, float]]:
        rows = self._conn.execute(
            "SELECT source, target, port, weight FROM dependencies ORDER BY source, target, port").fetchall()
        return [(s, t, int(p), float(w)) for s, t, p, w in rows]

    # -- runs ------------------------------------------------------------------------------
    def create_run(self, plan_id: str, wave: int, servers: Sequence[str], initial_state: str) -> int:
        stamp = now_iso()
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (plan_id, wave, started_at, status) VALUES (?, ?, ?, 'running')",
                (plan_id, wave, stamp))
            run_id = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT INTO run_servers (run_id, server, state, updated_at) VALUES (?, ?, ?, ?)",
                [(run_id, name, initial_state, stamp) for name in servers])
        return run_id

    def finish_run(self, run_id: int, status: str) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE runs SET finished_at = ?, status = ? WHERE id = ?", (now_iso(), status, run_id))

    def set_server_state(self, run_id: int, server: str, *, state: str, phase: str | None,
                         error: str | None = None, data: dict[str, Any] | None = None) -> None:
        with self.transaction() as conn:
            if data is None:
                conn.execute(
                    "UPDATE run_servers SET state = ?, phase = ?, error = ?, updated_at = ? "
                    "WHERE run_id = ? AND server = ?", (state, phase, error, now_iso(), run_id, server))
            else:
                conn.execute(
                    "UPDATE run_servers SET state = ?, phase = ?, error = ?, data = ?, updated_at = ? "
                    "WHERE run_id = ? AND server = ?",
                    (state, phase, error, json.dumps(data, sort_keys=True), now_iso(), run_id, server))

    def apply_changes(self, run_id: int, changes: Sequence[ServerChange]) -> None:
        """Write several servers' new state and their events in one transaction (all or nothing)."""
        stamp = now_iso()
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE run_servers SET state = ?, phase = ?, error = ?, data = ?, updated_at = ? "
                "WHERE run_id = ? AND server = ?",
                [(c.state, c.phase, c.error, json.dumps(c.data, sort_keys=True, default=str), stamp, run_id,
                  c.server) for c in changes])
            conn.executemany(
                "INSERT INTO events (run_id, server, phase, created_at, kind, data) VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, c.server, c.phase, stamp, c.kind, json.dumps(c.event, sort_keys=True, default=str))
                 for c in changes])

    def add_events(self, run_id: int, rows: Sequence[tuple[str | None, str | None, str, dict[str, Any]]]) -> None:
        """Store several already-redacted events ``(server, phase, kind, data)`` in one transaction."""
        if not rows:
            return
        stamp = now_iso()
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO events (run_id, server, phase, created_at, kind, data) VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, server, phase, stamp, kind, json.dumps(data, sort_keys=True, default=str))
                 for server, phase, kind, data in rows])

    def set_run_status(self, run_id: int, status: str, *, finished: bool) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
                         (status, now_iso() if finished else None, run_id))

    def run_rows(self, run_id: int) -> list[RunServer]:
        """Every server of one run, in the order the run was created with."""
        rows = self._conn.execute(
            "SELECT rs.run_id, r.plan_id, r.wave, rs.server, rs.state, rs.phase, rs.data, rs.error, rs.updated_at "
            "FROM run_servers rs JOIN runs r ON r.id = rs.run_id WHERE rs.run_id = ? ORDER BY rs.rowid",
            (run_id,)).fetchall()
        return [RunServer(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8]) for r in rows]

    def runs(self, plan_id: str | None = None) -> list[RunRecord]:
        sql = "SELECT id, plan_id, wave, started_at, finished_at, status FROM runs"
        params: tuple[Any, ...] = ()
        if plan_id is not None:
            sql += " WHERE plan_id = ?"
            params = (plan_id,)
        return [RunRecord(*row) for row in self._conn.execute(sql + " ORDER BY id", params).fetchall()]

    def run_servers(self, plan_id: str | None = None) -> list[RunServer]:
        """The latest state of each (plan, server): a newer run of the same server supersedes older ones."""
        sql = ("SELECT rs.run_id, r.plan_id, r.wave, rs.server, rs.state, rs.phase, rs.data, rs.error, "
               "rs.updated_at FROM run_servers rs JOIN runs r ON r.id = rs.run_id")
        params: tuple[Any, ...] = ()
        if plan_id is not None:
            sql += " WHERE r.plan_id = ?"
            params = (plan_id,)
        latest: dict[tuple[str, str], RunServer] = {}
        for row in self._conn.execute(sql + " ORDER BY rs.run_id", params).fetchall():
            rec = RunServer(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), row[7], row[8])
            latest[(rec.plan_id, rec.server)] = rec
        return sorted(latest.values(), key=lambda r: (r.plan_id, r.wave, r.server))

    def add_event(self, run_id: int, server: str | None, phase: str | None, kind: str,
                  data: dict[str, Any]) -> None:
        """Store one event; the caller has already redacted secrets from ``data``."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO events (run_id, server, phase, created_at, kind, data) VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, server, phase, now_iso(), kind, json.dumps(data, sort_keys=True, default=str)))

    def events(self, server: str | None = None, run_id: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT id, run_id, server, phase, created_at, kind, data FROM events WHERE 1=1"
        params: list[Any] = []
        if server is not None:
            sql += " AND server = ?"
            params.append(server)
        if run_id is not None:
            sql += " AND run_id = ?"
            params.append(run_id)
        rows = self._conn.execute(sql + " ORDER BY id", params).fetchall()
        return [{"id": r[0], "run_id": r[1], "server": r[2], "phase": r[3], "created_at": r[4],
                 "kind": r[5], "data": json.loads(r[6])} for r in rows]
