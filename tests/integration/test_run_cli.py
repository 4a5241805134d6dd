"""`pindah run` / `status` / `logs` as a user runs them, against the lab (plain output: stdout is not a TTY)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_run_wave import restore_lab

from orchestrator.plan import Application, Plan, PlannedServer, Wave, dump_plan

pytestmark = pytest.mark.integration

PLAN_ID = "wave-cli"


def pindah(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PINDAH_WORKSPACE": str(ws)}
    env.pop("AWS_SECRET_ACCESS_KEY", None)
    return subprocess.run([sys.executable, "-c", "from orchestrator.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=600, check=False)


def test_cli_run_reports_failures_with_exit_code_3(lab: Any, tmp_path: Path) -> None:
    movable = [h for h in lab.manifest.hosts if any(s.port and s.data_dir for s in h.services)]
    if len(movable) < 6:
        pytest.skip("the lab has too few hosts with a data service for a second wave")
    good, broken = movable[4].name, movable[5].name
    raw = yaml.safe_load(Path(lab.manifest.paths.inventory).read_text())
    for group in raw["all"]["children"].values():
        for name, hostvars in (group.get("hosts") or {}).items():
            if hostvars:
                host = lab.manifest.host(name)
                moved = [s for s in host.services if s.port and s.data_dir]
                hostvars["pindah_services"] = [{"name": s.name, "port": s.port} for s in moved]
                hostvars["pindah_data_dirs"] = [s.data_dir for s in moved]
                if name == broken:  # a declared service that has no init script on the source
                    hostvars["pindah_services"].append({"name": "no-such-service", "port": 9})
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(raw))
    servers = (good, broken)
    plan = Plan(id=PLAN_ID, created_at="2026-01-01T00:00:00+00:00", input_digest="sha256:test", max_wave_servers=5,
                waves=(Wave(index=1, servers=servers, applications=("it",)),), oversized=(),
                applications=(Application(name="it", servers=servers, wave=1, source="inferred", reason="t"),),
                servers=tuple(PlannedServer(name=n, application="it", wave=1, reason="t") for n in servers),
                dependencies=(), cross_wave_weight=0.0)
    lab.workspace.plans_dir.mkdir(exist_ok=True)
    (lab.workspace.plans_dir / f"{PLAN_ID}.yaml").write_text(dump_plan(plan))

    try:
        check_cli(lab.workspace.root, good, broken, inventory)
    finally:
        restore_lab(lab, PLAN_ID, [good])


def check_cli(ws: Path, good: str, broken: str, inventory: Path) -> None:
    run = pindah(ws, "run", "--plan", PLAN_ID, "--wave", "1", "-i", str(inventory), "--forks", "4",
                 "--force", "test: a hand-written plan, not approved")
    assert run.returncode == 3, run.stdout + run.stderr
    assert f"{good}: done" in run.stdout and f"{broken}: failed" in run.stdout
    assert "no-such-service" in run.stdout

    status = pindah(ws, "status", "--plan", PLAN_ID, "--json")
    assert status.returncode == 0, status.stderr
    rows = {r["name"]: r for r in json.loads(status.stdout)["servers"]}
    assert rows[good]["state"] == "done" and rows[good]["wave"] == 1 and rows[good]["plan"] == PLAN_ID
    assert rows[good]["target"]["instance_id"].startswith("i-")
    assert rows[broken]["state"] == "failed" and "no-such-service" in rows[broken]["error"]

    logs = pindah(ws, "logs", good)
    assert logs.returncode == 0 and "validating" in logs.stdout and "to=done" in logs.stdout
    missing = pindah(ws, "logs", "no-such-host")
    assert missing.returncode == 1 and "hint:" in missing.stderr

    bad_wave = pindah(ws, "run", "--plan", PLAN_ID, "--wave", "7", "-i", str(inventory))
    assert bad_wave.returncode == 1 and "no wave 7" in bad_wave.stderr
