"""The run CLI end to end over the ledger playbooks (real ansible-runner, local connection, no lab)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from ledger_playbooks import PLAN_ID, ledger, ledger_env, make_workspace, write_playbooks

PINDAH = str(Path(sys.executable).parent / "pindah")


def pindah(ws: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PINDAH, "--workspace", str(ws), *args], env=env, capture_output=True, text=True,
                          check=False, timeout=600)


def test_pause_approve_lock_check_status_and_logs(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    make_workspace(ws, ["a", "b"], sites={"a": "jkt", "b": "jkt"})
    books, ledger_dir = write_playbooks(tmp_path / "books"), tmp_path / "ledger"
    env = ledger_env(books, ledger_dir, sleep=0.05)
    run = ["run", "--plan", PLAN_ID, "--wave", "1", "-i", str(ws / "inventory" / "hosts.yml")]

    check = pindah(ws, env, *run, "--check", "--per-site", "1", "--json")
    assert check.returncode == 0, check.stderr
    found = json.loads(check.stdout)
    assert [(s["name"], s["cohort"], s["site"]) for s in found["servers"]] == [("a", 1, "jkt"), ("b", 2, "jkt")]
    assert not (ws / ".pindah" / "runs").exists() and not ledger(ledger_dir, "a")

    paused = pindah(ws, env, *run, "--pause-before-cutover")
    assert paused.returncode == 0, paused.stdout + paused.stderr
    assert "paused before cutover" in paused.stdout and "--approve-cutover" in paused.stdout
    assert [ln[0] for ln in ledger(ledger_dir, "a") if ln[1] == "end"] == ["precheck", "backup", "provision",
                                                                           "replicate"]

    slow = dict(env, PINDAH_TEST_SLEEP="3")
    holder = subprocess.Popen([PINDAH, "--workspace", str(ws), "run", "--resume", "--approve-cutover"],
                              env=slow, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = ws / ".pindah" / "locks" / f"run-{PLAN_ID}-wave-1.lock"
        deadline = time.monotonic() + 60
        while str(holder.pid) not in (lock.read_text() if lock.exists() else ""):
            assert time.monotonic() < deadline and holder.poll() is None, "the first run never took the lock"
            time.sleep(0.1)
        refused = pindah(ws, env, *run, "--resume", "--approve-cutover")
        assert refused.returncode == 1
        assert f"pid {holder.pid}" in refused.stderr and "wave 1 of plan ledger" in refused.stderr
        assert holder.wait(timeout=300) == 0
    finally:
        holder.kill()

    status = pindah(ws, env, "status", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    rows = {r["name"]: r for r in data["servers"]}
    assert {r["state"] for r in rows.values()} == {"done"}
    assert rows["a"]["phases"]["cutover"]["seconds"] >= 3 and rows["a"]["attempts"] == 7
    assert [r["status"] for r in data["runs"]] == ["done"]
    logs = pindah(ws, env, "logs", "a")
    assert logs.returncode == 0 and "to=awaiting_cutover" in logs.stdout and "cutover approved" in logs.stdout
    again = pindah(ws, env, *run)
    assert again.returncode == 1 and "already done" in again.stderr
