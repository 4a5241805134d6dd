"""Crash safety: ``pindah discover`` and ``pindah plan create`` killed with SIGKILL at seeded random moments.

The real CLI runs in a subprocess on a real workspace; discovery probes a throwaway OpenSSH sshd under
several inventory names. After every kill: the store opens, everything committed before is byte-for-byte
still there, a new snapshot is either whole or absent, and every plan file present loads completely with
its Markdown beside it. At the end the workspace still discovers and plans normally.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import kill_tree, needs_root_sshd
from sshd_daemon import Daemon, start_sshd

from orchestrator.plan import load_plan
from orchestrator.store import Store
from orchestrator.workspace import Workspace, init_workspace

pytestmark = pytest.mark.integration  # real sshd / ansible-runner; needs root
AREA = "crash safety (kill -9)"
PINDAH = str(Path(sys.executable).with_name("pindah"))
DISCOVER_TRIALS = 20
PLAN_TRIALS = 20


@dataclass
class Estate:
    ws: Workspace
    inventory: Path
    known_hosts: Path

    def run(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([PINDAH, "--workspace", str(self.ws.root), *args], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def discover_args(self) -> list[str]:
        return ["discover", "-i", str(self.inventory), "--known-hosts", str(self.known_hosts), "--timeout", "15",
                "--forks", "4"]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    reason = needs_root_sshd()
    if reason:
        pytest.skip(reason)
    daemon = start_sshd(tmp_path_factory.mktemp("crash-sshd"))
    try:
        yield daemon
    finally:
        kill_tree(daemon.proc.pid)
        daemon.stop()


@pytest.fixture(scope="module")
def estate(sshd: Daemon, tmp_path_factory: pytest.TempPathFactory) -> Estate:
    root = tmp_path_factory.mktemp("crash")
    ws = init_workspace(root / "ws")
    inventory = root / "hosts.yml"
    hosts = "".join(f"    node-{i}:\n" for i in range(4))
    inventory.write_text(f"all:\n  vars:\n    ansible_host: 127.0.0.1\n    ansible_port: {sshd.port}\n"
                         f"    ansible_user: root\n    ansible_ssh_private_key_file: {sshd.good_key}\n"
                         f"  hosts:\n{hosts}")
    servers = root / "servers.csv"
    servers.write_text("name,application,environment,disk_gb\n" + "".join(
        f"app-{i:03d},app{i // 4},{'prod' if i % 3 else 'nonprod'},{10 + i}\n" for i in range(240)))
    deps = root / "deps.csv"
    deps.write_text("source,target,port\n" + "".join(f"app-{i:03d},app-{(i * 7 + 1) % 240:03d},8080\n"
                                                     for i in range(240) if (i * 7 + 1) % 240 != i))
    est = Estate(ws, inventory, sshd.known_hosts)
    for args in (["import", "servers", str(servers)], ["import", "dependencies", str(deps)],
                 est.discover_args(), ["plan", "create", "--id", "committed"]):
        done = subprocess.run([PINDAH, "--workspace", str(ws.root), *args], capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, (args, done.stderr.decode())
    return est


def _committed(ws: Workspace) -> dict[str, object]:
    """Everything the store holds, read without pindah (snapshot rows keyed by id)."""
    with sqlite3.connect(f"file:{ws.db_path}?mode=ro", uri=True) as conn:
        return {
            "snapshots": {row[0]: row for row in conn.execute("SELECT * FROM snapshots")},
            "host_facts": {(row[0], row[1]): row for row in conn.execute("SELECT * FROM host_facts")},
            "servers": conn.execute("SELECT * FROM servers ORDER BY name").fetchall(),
            "dependencies": conn.execute("SELECT * FROM dependencies ORDER BY source, target, port").fetchall(),
        }


def _check_after_kill(ws: Workspace, before: dict[str, object], plans_before: dict[str, bytes]) -> None:
    with Store.open(ws.db_path) as store:  # opens: not damaged
        snapshots = store.snapshots()
        for snap in snapshots:  # a snapshot is whole or absent
            assert len(store.snapshot_facts(snap.id)) == snap.host_count
    after = _committed(ws)
    for table in ("snapshots", "host_facts"):
        old, new = before[table], after[table]
        assert isinstance(old, dict) and isinstance(new, dict)
        assert {k: new.get(k) for k in old} == old, f"committed {table} rows changed or vanished"
    assert after["servers"] == before["servers"] and after["dependencies"] == before["dependencies"]
    for name, raw in plans_before.items():
        assert (ws.plans_dir / name).read_bytes() == raw, f"committed plan file {name} changed"
    for path in ws.plans_dir.glob("*.yaml"):
        plan = load_plan(ws.plans_dir, path.stem)  # complete: loads and validates
        assert path.with_suffix(".md").is_file(), f"{path.name} without its Markdown"
        assert plan.servers


class KillClock:
    """Seeded kill moments between 0.05 s and 1.1x the command's usual duration. The usual duration is
    measured once, and lowered whenever a trial ends before its kill: a timing taken while the machine was
    busy would otherwise leave most later trials ending before their kill on a quieter machine."""

    def __init__(self, seed: int, usual: float) -> None:
        self.rng = random.Random(seed)
        self.usual = usual

    def kill(self, proc: subprocess.Popen[bytes]) -> bool:
        """SIGKILL ``proc`` at the next moment; False when it had already finished."""
        started = time.monotonic()
        try:
            proc.wait(timeout=self.rng.uniform(0.05, self.usual * 1.1))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            return True
        self.usual = max(0.1, min(self.usual, time.monotonic() - started))
        return False


def _typical_seconds(estate: Estate, args: list[str]) -> float:
    started = time.monotonic()
    proc = estate.run(*args)
    assert proc.wait(timeout=120) == 0
    return time.monotonic() - started


@pytest.mark.fault(AREA, "`pindah discover` (4 hosts on a real sshd) killed with SIGKILL at a seeded random "
                   "moment between start and its usual end",
                   "store opens; every snapshot committed before is unchanged; a new snapshot is whole or "
                   "absent; imports and plan files untouched", trials=DISCOVER_TRIALS)
def test_kill_discover_at_random_points(estate: Estate) -> None:
    clock = KillClock(7001, _typical_seconds(estate, estate.discover_args()))
    killed = 0
    for _ in range(DISCOVER_TRIALS):
        before = _committed(estate.ws)
        plans_before = {p.name: p.read_bytes() for p in estate.ws.plans_dir.iterdir() if p.is_file()}
        killed += clock.kill(estate.run(*estate.discover_args()))
        _check_after_kill(estate.ws, before, plans_before)
    assert killed >= DISCOVER_TRIALS // 2, f"only {killed} of {DISCOVER_TRIALS} runs were killed before they ended"
    assert _typical_seconds(estate, estate.discover_args()) > 0  # the workspace still discovers


@pytest.mark.fault(AREA, "`pindah plan create` (240 imported servers, 4 discovered hosts) killed with SIGKILL "
                   "at a seeded random moment",
                   "store opens unchanged; the committed plan's files byte-identical; a new plan's YAML is "
                   "absent or complete (loads) with its Markdown; the id is reusable after an interrupted "
                   "create", trials=PLAN_TRIALS)
def test_kill_plan_create_at_random_points(estate: Estate) -> None:
    clock = KillClock(7002, _typical_seconds(estate, ["plan", "create", "--id", "timing"]))
    killed = 0
    for trial in range(PLAN_TRIALS):
        before = _committed(estate.ws)
        plans_before = {p.name: p.read_bytes() for p in estate.ws.plans_dir.iterdir() if p.is_file()}
        plan_id = f"trial-{trial:02d}"
        killed += clock.kill(estate.run("plan", "create", "--id", plan_id))
        _check_after_kill(estate.ws, before, plans_before)
        if not (estate.ws.plans_dir / f"{plan_id}.yaml").exists():  # interrupted: the same id works now
            again = subprocess.run([PINDAH, "--workspace", str(estate.ws.root), "plan", "create", "--id", plan_id],
                                   capture_output=True, timeout=120, check=False)
            assert again.returncode == 0, again.stderr.decode()
            load_plan(estate.ws.plans_dir, plan_id)
    assert killed >= PLAN_TRIALS // 2, f"only {killed} of {PLAN_TRIALS} runs were killed before they ended"
