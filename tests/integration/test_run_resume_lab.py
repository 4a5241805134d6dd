"""Kill -9 of pindah in the middle of a real cutover on the lab, then the same command again: it resumes.

The resumed run continues the same run id, runs cutover again with ``pindah_resume: true`` (the playbook
checks what was already switched), does not repeat the phases completed before the kill, and every
service answers from its target with the source's data.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_run_wave import PLAN_ID, answer, migration_inventory, restore_lab, without_host, write_plan

from orchestrator.plan import dump_plan, load_plan
from orchestrator.store import Store

pytestmark = pytest.mark.integration
PINDAH = str(Path(sys.executable).parent / "pindah")


RESUME_PLAN = "resume-it"


def _cutovers(runs_dir: Path) -> set[Path]:
    """The engine records the phase start, then makes the phase's ansible directory and runs the playbook."""
    return set(runs_dir.glob("*/ansible/cutover"))


def test_kill_during_cutover_then_resume_on_the_lab(lab: Any, tmp_path: Path) -> None:
    movable = [h for h in lab.manifest.hosts if any(s.port and s.data_dir for s in h.services)]
    servers = [h.name for h in movable[-2:]]  # not the servers other tests of the shared lab move
    inventory = migration_inventory(lab, tmp_path / "inventory.yml", set())
    write_plan(lab, servers)
    plan = load_plan(lab.workspace.plans_dir, PLAN_ID).model_copy(update={"id": RESUME_PLAN})
    (lab.workspace.plans_dir / f"{RESUME_PLAN}.yaml").write_text(dump_plan(plan))
    before = {}
    for name in servers:
        host = lab.manifest.host(name)
        svc = next(s for s in host.services if s.port and s.data_dir)
        before[name] = (svc.port, answer(host.address, svc.port))
    command = [PINDAH, "--workspace", str(lab.workspace.root), "run", "--plan", RESUME_PLAN, "--wave", "1",
               "-i", str(inventory), "--force", "test: a hand-written plan"]
    try:
        earlier = _cutovers(lab.workspace.runs_dir)  # other tests' runs on the shared lab
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        while not _cutovers(lab.workspace.runs_dir) - earlier:
            assert first.poll() is None, "the run ended before cutover started"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.5)  # inside the cutover playbook
        first.kill()
        first.wait()
        second = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        status = subprocess.run([PINDAH, "--workspace", str(lab.workspace.root), "status", "--plan", RESUME_PLAN, "--json"],
                                capture_output=True, text=True, check=True)
        rows = {r["name"]: r for r in json.loads(status.stdout)["servers"]}
        with Store.open(lab.workspace.db_path) as store:
            runs = store.runs(RESUME_PLAN)
            events = store.events(run_id=runs[0].id)
        assert len(runs) == 1 and runs[0].status == "done"
        for name in servers:
            row = rows[name]
            assert row["state"] == "done" and row["run"] == runs[0].id
            starts = [e["data"] for e in events if e["server"] == name and e["kind"] == "phase_started"
                      and e["phase"] == "cutover"]
            assert starts and all(s["resume"] for s in starts[1:])
            for phase in ("precheck", "provision", "replicate"):
                assert row["phases"][phase]["attempts"] == 1, f"{name}: {phase} ran again after the kill"
            port, body = before[name]
            assert without_host(answer(row["target"]["address"], port)) == without_host(body)
    finally:
        restore_lab(lab, RESUME_PLAN, servers)
