"""Fault injection: kill -9 pindah or ansible-playbook at random (seeded) moments, resume, check invariants.

Real ansible-runner and ansible-playbook, with the ledger playbooks (local connection). Every kill of the
pindah process is followed by re-running the same command (resume); a killed ansible-playbook is a
transient failure pindah retries by itself. At the end every server is in its one expected terminal
state, no phase ran again after the store recorded it complete, and cutover switched at most once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from ledger_playbooks import PLAN_ID, ledger, ledger_env, make_workspace, write_playbooks

from orchestrator.runner.playbook import orphans
from orchestrator.store import Store

TRIALS = 20  # kills, each followed by a resume (or an in-process retry for a killed ansible-playbook)
SERVERS = ["s0", "s1", "s2", "s3"]
FAIL = "s1:replicate,s2:precheck"
EXPECTED = {"s0": "done", "s1": "rolled_back", "s2": "failed", "s3": "blocked"}  # s3 depends on s1
PINDAH = str(Path(sys.executable).parent / "pindah")


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(proc.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _ansible_playbook(pid: int) -> int | None:
    for child in _descendants(pid):
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"ansible-playbook" in cmd:
            return child
    return None


def _wait(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """True if ``proc`` ended within ``seconds``."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _kill_ansible(proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and proc.poll() is None:
        child = _ansible_playbook(proc.pid)
        if child is not None:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                continue
            return True
        time.sleep(0.05)
    return False


def _command(ws_root: Path) -> list[str]:
    return [PINDAH, "--workspace", str(ws_root), "run", "--plan", PLAN_ID, "--wave", "1",
            "-i", str(ws_root / "inventory" / "hosts.yml"), "--max-parallel", "3", "--retries", "20",
            "--retry-delay", "0.1"]


def _run_until_done(rng: random.Random, ws_root: Path, env: dict[str, str], budget: int) -> tuple[int, int]:
    """Run, killing at random points while kills are left; return (kills made, final exit code)."""
    kills = 0
    proc = subprocess.Popen(_command(ws_root), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while True:
        if kills >= budget or _wait(proc, rng.uniform(0.3, 5.0)):
            proc.wait(timeout=600)
            if proc.returncode in (0, 3):
                return kills, proc.returncode
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"pindah exited {proc.returncode}: {err[-2000:]}")
        if rng.random() < 0.5:
            if _kill_ansible(proc):
                kills += 1
            continue
        proc.kill()  # SIGKILL of pindah itself
        proc.wait(timeout=30)
        if _run_finished(ws_root):  # the kill landed after the run had ended: there is nothing to resume,
            return kills, -9        # and the same command would start a new run (not counted as a trial)
        kills += 1
        proc = subprocess.Popen(_command(ws_root), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _run_finished(ws_root: Path) -> bool:
    db = ws_root / ".pindah" / "state.db"
    if not db.exists():
        return False
    with Store.open(db) as store:
        runs = store.runs()
    return bool(runs) and runs[-1].finished_at is not None


def _check_invariants(ws_root: Path, ledger_dir: Path) -> None:
    with Store.open(ws_root / ".pindah" / "state.db") as store:
        runs = store.runs()
        assert len(runs) == 1, "every resume continues the one run"
        assert runs[0].status == "failed" and runs[0].finished_at
        rows = {r.server: r for r in store.run_rows(runs[0].id)}
        events = store.events(run_id=runs[0].id)
    assert {n: r.state for n, r in rows.items()} == EXPECTED
    for name, row in rows.items():
        entered = Counter(e["data"]["to"] for e in events if e["server"] == name and e["kind"] == "state")
        assert all(n == 1 for n in entered.values()), f"{name} entered a state twice: {entered}"
        lines = ledger(ledger_dir, name)
        for phase, record in (row.data.get("phases") or {}).items():
            if record.get("ok"):
                late = [ln for ln in lines if ln[0] == phase and ln[1] == "start" and ln[3] > record["ended"]]
                assert not late, f"{name}: {phase} ran again after it completed: {late}"
                assert any(ln[0] == phase and ln[1] == "end" and ln[3] <= record["ended"] for ln in lines)
        switches = [ln for ln in lines if ln[0] == "cutover" and ln[1] == "switch"]
        assert len(switches) <= 1, f"{name} cut over twice"
        starts = [ln for ln in lines if ln[0] == "cutover" and ln[1] == "start"]
        assert all(ln[2] for ln in starts[1:]), f"{name}: a repeated cutover was not told it resumes"
    assert rows["s0"].data["phases"]["cutover"]["ok"] and len(
        [ln for ln in ledger(ledger_dir, "s0") if ln[1] == "switch"]) == 1
    assert rows["s1"].data["rollback_result"]["ok"] is True and "replicate" in (rows["s1"].error or "")
    assert not ledger(ledger_dir, "s3"), "a blocked server never starts"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_killed_runs_resume_to_one_terminal_state_each(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    books = write_playbooks(tmp_path / "books")
    kills = 0
    rounds = 0
    while kills < TRIALS // 4:  # each seed makes at least 5 kill + resume trials
        rounds += 1
        root = tmp_path / f"ws{rounds}"
        make_workspace(root, SERVERS, depends=[("s3", "s1")])
        ledger_dir = tmp_path / f"ledger{rounds}"
        env = ledger_env(books, ledger_dir, fail=FAIL, sleep=0.05)
        made, _ = _run_until_done(rng, root, env, TRIALS // 4 - kills)
        kills += made
        _check_invariants(root, ledger_dir)
        assert not orphans(root / ".pindah" / "runs"), "no ansible process outlives the run"
        assert rounds < 6, "the kills keep missing the run"
    print(json.dumps({"seed": seed, "kills": kills, "workspaces": rounds}))
