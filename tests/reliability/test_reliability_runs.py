"""Runs: kill -9 of ``pindah run`` at seeded random moments then resume; two runners on one workspace; plan
tampering, stale plans, replayed approvals and self-approval refused by the real ``pindah run``.

The runs use the engine's ledger playbooks (tests/integration/ledger_playbooks.py): the real
ansible-runner and ansible-playbook with a local connection, each phase appending to a per-host ledger,
so a run takes seconds and the ledger shows exactly which phase ran when.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.store import Store
from tests.integration.ledger_playbooks import CLOUD, PLAN_ID, ledger, ledger_env, make_workspace, write_playbooks
from tests.integration.test_run_faults import SERVERS, _check_invariants, _run_until_done

PINDAH = str(Path(sys.executable).with_name("pindah"))
RUN_KILL_TRIALS = 10
pytestmark = pytest.mark.integration  # real sshd / ansible-runner; needs root
AREA_CRASH = "crash safety (kill -9)"
AREA_TRUST = "trust: plans, approvals, runners"


def _run(ws: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PINDAH, "--workspace", str(ws), "run", "--plan", PLAN_ID, "--wave", "1",
                           "-i", str(ws / "inventory" / "hosts.yml"), *extra],
                          env=env, capture_output=True, text=True, timeout=600, check=False)


def _runs(ws: Path) -> int:
    with Store.open(ws / ".pindah" / "state.db") as store:
        return len(store.runs())


@pytest.mark.fault(AREA_CRASH, "`pindah run` (4 servers, real ansible-runner, ledger playbooks; one fails "
                   "replicate, one precheck, one is blocked) killed with SIGKILL, or its ansible-playbook "
                   "killed, at seeded random moments, then the same command re-run until it finishes",
                   "one run; every server ends in exactly its one expected terminal state, entered once; no "
                   "phase ran again after the store recorded it complete; cutover switched at most once",
                   trials=RUN_KILL_TRIALS)
def test_kill_run_and_resume(tmp_path: Path) -> None:
    rng = random.Random(11)
    books = write_playbooks(tmp_path / "books")
    kills, rounds = 0, 0
    while kills < RUN_KILL_TRIALS:
        rounds += 1
        assert rounds <= 6, "the kills keep missing the run"
        root = tmp_path / f"ws{rounds}"
        make_workspace(root, SERVERS, depends=[("s3", "s1")])
        ledger_dir = tmp_path / f"ledger{rounds}"
        made, _ = _run_until_done(rng, root, ledger_env(books, ledger_dir, fail="s1:replicate,s2:precheck"),
                                  RUN_KILL_TRIALS - kills)
        kills += made
        _check_invariants(root, ledger_dir)


@pytest.fixture
def approved(tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    books = write_playbooks(tmp_path / "books")
    ws = make_workspace(tmp_path / "ws", ["a", "b"]).root
    ledger_dir = tmp_path / "ledger"
    return ws, ledger_env(books, ledger_dir), ledger_dir


def _refused(ws: Path, env: dict[str, str], ledger_dir: Path, *words: str) -> None:
    done = _run(ws, env)
    assert done.returncode == 5, (done.returncode, done.stderr)
    for word in words:
        assert word in done.stderr, done.stderr
    assert "hint:" in done.stderr
    assert not ledger(ledger_dir, "a") and not ledger(ledger_dir, "b"), "a phase ran for a refused plan"
    assert _runs(ws) == 0


@pytest.mark.fault(AREA_TRUST, "approved plan file tampered with (one byte of a reason changed)",
                   "`pindah run` exits 5 naming the change; no run row, no phase ran")
def test_tampered_plan_is_refused(approved: tuple[Path, dict[str, str], Path]) -> None:
    ws, env, ledger_dir = approved
    plan = ws / "plans" / f"{PLAN_ID}.yaml"
    plan.write_text(plan.read_text().replace("reason: r", "reason: R", 1))
    _refused(ws, env, ledger_dir, "changed after its approval")


@pytest.mark.fault(AREA_TRUST, "stale plan: servers imported after the approval change the plan's inputs",
                   "`pindah run` exits 5 (stale); no run row, no phase ran")
def test_stale_plan_is_refused(approved: tuple[Path, dict[str, str], Path], tmp_path: Path) -> None:
    ws, env, ledger_dir = approved
    csv = tmp_path / "more.csv"
    csv.write_text("name\nnew-01\n")
    imported = subprocess.run([PINDAH, "--workspace", str(ws), "import", "servers", str(csv)], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
    assert imported.returncode == 0, imported.stderr
    _refused(ws, env, ledger_dir, "stale")


@pytest.mark.fault(AREA_TRUST, "replayed approval: another plan's approval row copied onto this plan (same "
                   "digest, approver and audit hash), the real approval removed",
                   "does not count: `pindah run` exits 5; no phase ran")
def test_replayed_approval_is_refused(approved: tuple[Path, dict[str, str], Path]) -> None:
    ws, env, ledger_dir = approved
    with sqlite3.connect(ws / ".pindah" / "state.db") as conn:
        conn.execute("UPDATE approvals SET plan_id = 'some-other-plan'")
        row = conn.execute("SELECT plan_digest, approver, author, approved_at, audit_seq, audit_hash "
                           "FROM approvals").fetchone()
        conn.execute("INSERT INTO approvals (plan_id, plan_digest, approver, author, approved_at, audit_seq, "
                     "audit_hash) VALUES (?, ?, ?, ?, ?, ?, ?)", (PLAN_ID, *row[:3], row[3], row[4] + 1000, row[5]))
    _refused(ws, env, ledger_dir)


@pytest.mark.fault(AREA_TRUST, "self-approval: the plan's author approves it (four eyes required)",
                   "`pindah plan approve` exits 5; the run stays refused (exit 5), no phase ran")
def test_self_approval_is_refused(tmp_path: Path) -> None:
    from orchestrator.workspace import init_workspace

    books = write_playbooks(tmp_path / "books")
    ws = init_workspace(tmp_path / "ws").root
    (ws / "pindah.toml").write_text((ws / "pindah.toml").read_text() + CLOUD)
    env = {**ledger_env(books, tmp_path / "ledger"), "PINDAH_USER": "alice"}
    csv = tmp_path / "servers.csv"
    csv.write_text("name,application\na,x\nb,x\n")
    for args in (["import", "servers", str(csv)], ["plan", "create", "--id", PLAN_ID]):
        done = subprocess.run([PINDAH, "--workspace", str(ws), *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    approve = subprocess.run([PINDAH, "--workspace", str(ws), "plan", "approve", PLAN_ID], env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert approve.returncode == 5, approve.stderr
    assert "alice created plan" in approve.stderr and "cannot also approve" in approve.stderr
    (ws / "inventory" / "hosts.yml").write_text(
        "all:\n  vars:\n    ansible_host: 127.0.0.1\n    pindah_services: [{name: app, port: 80}]\n"
        "    pindah_data_dirs: [/srv/app]\n  hosts:\n    a:\n    b:\n")
    _refused(ws, env, tmp_path / "ledger")


@pytest.mark.fault(AREA_TRUST, "two `pindah run` of the same wave on one workspace at once",
                   "the second exits 1 naming the holder's pid and wave; the first finishes; every server "
                   "ran each phase once")
def test_two_runners_never_both_run(approved: tuple[Path, dict[str, str], Path]) -> None:
    ws, env, ledger_dir = approved
    env = {**env, "PINDAH_TEST_SLEEP": "1"}
    command = [PINDAH, "--workspace", str(ws), "run", "--plan", PLAN_ID, "--wave", "1",
               "-i", str(ws / "inventory" / "hosts.yml")]
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not ledger(ledger_dir, "a") and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.1)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert first.poll() is None, "the first run ended before the second started: no contention tried"
        assert second.returncode == 1, second.stderr
        assert f"pid {first.pid}" in second.stderr and "wave 1 of plan ledger" in second.stderr
        assert first.wait(timeout=600) == 0
    finally:
        if first.poll() is None:
            first.kill()
    for host in ("a", "b"):
        ends = [line[0] for line in ledger(ledger_dir, host) if line[1] == "end"]
        assert len(ends) == len(set(ends)), f"{host} ran a phase twice: {ends}"
    assert _runs(ws) == 1
