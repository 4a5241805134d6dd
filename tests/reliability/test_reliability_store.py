"""A corrupted or truncated workspace store is detected with a clear error and no further damage.

Every damaged file is opened through the real CLI (``pindah inventory list``, ``pindah plan create``,
``pindah discover``) and through ``Store.open``: the command fails naming the file, and the file's bytes
are unchanged afterwards (no WAL/SHM side files left either).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

from orchestrator.errors import StoreError
from orchestrator.store import Store
from orchestrator.workspace import Workspace, init_workspace

Pindah = Callable[..., CliResult]
AREA = "trust: store"


def _filled_store(root: Path) -> Workspace:
    ws = init_workspace(root)
    with Store.open(ws.db_path) as store:
        store.upsert_servers((f"srv-{i:04d}", {"site": "Jakarta", "note": "x" * 300}) for i in range(600))
        store.upsert_dependencies((f"srv-{i:04d}", f"srv-{i + 1:04d}", 5432, 1.0) for i in range(599))
    # fold the WAL into the main file, as a quiet workspace has it
    with sqlite3.connect(ws.db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for side in ("-wal", "-shm"):
        Path(str(ws.db_path) + side).unlink(missing_ok=True)
    return ws


def _damage(raw: bytes, how: str, rng: random.Random) -> bytes:
    page = int.from_bytes(raw[16:18], "big")
    pages = len(raw) // page
    if how == "truncated to half":
        return raw[: len(raw) // 2]
    if how == "truncated to a page boundary":
        return raw[: page * rng.randrange(1, pages - 1)]
    if how == "truncated mid-page":
        return raw[: page * rng.randrange(1, pages - 1) + rng.randrange(1, page)]
    if how == "truncated to 0 bytes":
        return b""
    if how == "header only (100 bytes)":
        return raw[:100]
    if how == "random bytes (not SQLite)":
        return rng.randbytes(len(raw))
    if how == "one b-tree page zeroed":
        victim = rng.randrange(2, pages)
        return raw[: page * (victim - 1)] + bytes(page) + raw[page * victim:]
    if how == "random bytes over 8 b-tree page headers":
        data = bytearray(raw)
        for victim in rng.sample(range(1, pages), 8):
            data[victim * page: victim * page + 8] = rng.randbytes(8)
        return bytes(data)
    raise AssertionError(how)


DAMAGES = ("truncated to half", "truncated to a page boundary", "truncated mid-page", "truncated to 0 bytes",
           "header only (100 bytes)", "random bytes (not SQLite)", "one b-tree page zeroed",
           "random bytes over 8 b-tree page headers")
COMMANDS = (("inventory", "list"), ("plan", "create", "--id", "after-damage"), ("import", "servers", "{csv}"))


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.fault(AREA, "store file damaged (truncated to half / page boundary / mid-page / 0 bytes / header "
                   "only, random bytes, a zeroed page, 8 scrambled page headers; seeded), opened by 3 CLI commands",
                   "every command exits 1 naming the store with a hint; file bytes unchanged, no -wal/-shm left",
                   trials=len(COMMANDS))
def test_damaged_store_is_refused_without_further_damage(how: str, tmp_path: Path, pindah: Pindah) -> None:
    rng = random.Random(f"store-{how}")
    ws = _filled_store(tmp_path / "ws")
    damaged = _damage(ws.db_path.read_bytes(), how, rng)
    ws.db_path.write_bytes(damaged)
    csv = tmp_path / "more.csv"
    csv.write_text("name\nnew-01\n")
    for command in COMMANDS:
        args = [a.replace("{csv}", str(csv)) for a in command]
        result = pindah("--workspace", str(ws.root), *args)
        assert result.exit_code == 1, (command, result.output)
        assert f"workspace store {ws.db_path} cannot be read" in result.output, result.output
        assert "hint:" in result.output
        assert ws.db_path.read_bytes() == damaged, f"{command} changed the damaged store"
        assert not Path(str(ws.db_path) + "-wal").exists() and not Path(str(ws.db_path) + "-shm").exists()
    assert not list(ws.plans_dir.glob("after-damage*"))


@pytest.mark.fault(AREA, "store from a newer pindah (schema version ahead)",
                   "refused naming both versions; file untouched")
def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    ws = _filled_store(tmp_path / "ws")
    with sqlite3.connect(ws.db_path) as conn:
        conn.execute("PRAGMA user_version = 999")
    before = ws.db_path.read_bytes()
    with pytest.raises(StoreError, match="newer") as caught:
        Store.open(ws.db_path)
    assert caught.value.hint
    assert ws.db_path.read_bytes() == before


@pytest.mark.fault(AREA, "intact store after checkpoint, reopened 20 times",
                   "opens, all 600 servers and 599 dependencies read back (the checks refuse nothing sound)")
def test_sound_store_opens(tmp_path: Path) -> None:
    ws = _filled_store(tmp_path / "ws")
    for _ in range(20):
        with Store.open(ws.db_path) as store:
            assert len(store.servers()) == 600
            assert len(store.dependencies()) == 599
