"""The append-only, hash-chained audit log of the workspace store.

Every entry holds seq, time, actor, kind, subject, data (canonical JSON), the previous entry's hash
and its own hash: sha256 over all of these. Editing, inserting or removing an entry breaks the chain
from that entry on; :func:`verify` names the first broken seq. Removing entries at the *end* leaves
a valid but shorter chain: compare with a head recorded earlier (``verify(head=...)``).

Entries never carry secrets: data keys that look like credentials are refused.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from orchestrator.errors import PindahError
from orchestrator.store import Store, now_iso

GENESIS = "0" * 64
USER_ENV = "PINDAH_USER"
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|private_key|credential|api_?key", re.IGNORECASE)


class AuditError(PindahError):
    """The audit log cannot be written or read as asked."""


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    created_at: str
    actor: str
    kind: str
    subject: str
    data: str  # canonical JSON, exactly as hashed
    prev_hash: str
    hash: str

    def payload(self) -> dict[str, Any]:
        loaded = json.loads(self.data)
        return loaded if isinstance(loaded, dict) else {}

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.created_at, "actor": self.actor, "kind": self.kind,
                "subject": self.subject, "data": self.payload(), "prev_hash": self.prev_hash,
                "hash": self.hash}


class Problem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    message: str


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entries: int
    head_seq: int
    head_hash: str
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def current_actor() -> str:
    """Who is acting: ``$PINDAH_USER`` when set, else the operating-system user."""
    return os.environ.get(USER_ENV, "").strip() or os_user()


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(seq: int, *, created_at: str, actor: str, kind: str, subject: str, data: str, prev_hash: str) -> str:
    body = json.dumps([seq, created_at, actor, kind, subject, data, prev_hash], separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _refuse_secrets(data: Any, where: str = "") -> None:
    if isinstance(data, Mapping):
        for key, value in data.items():
            if _SECRET_KEY.search(str(key)):
                raise AuditError(f"audit data key {where}{key!r} looks like a secret",
                                 hint="audit entries never carry credentials; leave the value out")
            _refuse_secrets(value, f"{where}{key}.")
    elif isinstance(data, list | tuple):
        for item in data:
            _refuse_secrets(item, where)


def append(conn: sqlite3.Connection, *, kind: str, subject: str, data: Mapping[str, Any],
           actor: str | None = None) -> AuditEntry:
    """Append one entry inside the caller's open transaction (see :meth:`Store.transaction`)."""
    _refuse_secrets(data)
    last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
    who, stamp, text = actor or current_actor(), now_iso(), canonical(data)
    digest = entry_hash(seq, created_at=stamp, actor=who, kind=kind, subject=subject, data=text, prev_hash=prev)
    conn.execute("INSERT INTO audit_log (seq, created_at, actor, kind, subject, data, prev_hash, hash) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (seq, stamp, who, kind, subject, text, prev, digest))
    return AuditEntry(seq=seq, created_at=stamp, actor=who, kind=kind, subject=subject, data=text,
                      prev_hash=prev, hash=digest)


def record(store: Store, *, kind: str, subject: str, data: Mapping[str, Any],
           actor: str | None = None) -> AuditEntry:
    """Append one entry in its own transaction."""
    with store.transaction() as conn:
        return append(conn, kind=kind, subject=subject, data=data, actor=actor)


def _row(row: Sequence[Any]) -> AuditEntry:
    return AuditEntry(seq=int(row[0]), created_at=str(row[1]), actor=str(row[2]), kind=str(row[3]),
                      subject=str(row[4]), data=str(row[5]), prev_hash=str(row[6]), hash=str(row[7]))


_SELECT = "SELECT seq, created_at, actor, kind, subject, data, prev_hash, hash FROM audit_log"


def entries(store: Store, *, kind: str | None = None, subject: str | None = None) -> list[AuditEntry]:
    """Entries oldest first; ``kind``/``subject`` narrow them (None: any)."""
    with store.transaction() as conn:
        rows = conn.execute(_SELECT + " WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR subject = ?2) "
                            "ORDER BY seq", (kind, subject)).fetchall()
    return [_row(r) for r in rows]


def entry_at(store: Store, seq: int) -> AuditEntry | None:
    with store.transaction() as conn:
        row = conn.execute(_SELECT + " WHERE seq = ?", (seq,)).fetchone()
    return _row(row) if row else None


def intact(entry: AuditEntry) -> bool:
    """The entry's own hash matches its fields (it was not edited on its own)."""
    return entry.hash == entry_hash(entry.seq, created_at=entry.created_at, actor=entry.actor, kind=entry.kind,
                                    subject=entry.subject, data=entry.data, prev_hash=entry.prev_hash)


def check_chain(chain: Sequence[AuditEntry], head: str | None = None) -> Verification:
    """Walk the chain from seq 1: numbering, links and hashes; optionally that ``head`` is still in it."""
    problems: list[Problem] = []
    prev, expected = GENESIS, 1
    for entry in chain:
        if entry.seq != expected:
            what = "removed" if entry.seq > expected else "duplicated or reordered"
            problems.append(Problem(seq=entry.seq, message=f"expected seq {expected}: entries {what} before it"))
        elif entry.prev_hash != prev:
            problems.append(Problem(seq=entry.seq, message="prev_hash does not match the entry before it: "
                                    "an entry before it was edited, inserted or removed"))
        if not intact(entry):
            problems.append(Problem(seq=entry.seq, message="hash does not match the entry's content: edited"))
        prev, expected = entry.hash, entry.seq + 1
    if head is not None and all(e.hash != head for e in chain):
        problems.append(Problem(seq=expected, message=f"recorded head {head[:16]}... is no longer in the log: "
                                "entries were removed from the end or the log was rewritten"))
    last = chain[-1] if chain else None
    return Verification(entries=len(chain), head_seq=last.seq if last else 0,
                        head_hash=last.hash if last else GENESIS, problems=tuple(problems))


def verify(store: Store, head: str | None = None) -> Verification:
    return check_chain(entries(store), head)
