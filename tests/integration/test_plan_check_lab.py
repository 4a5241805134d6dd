"""`pindah plan check` against real drift in the lab: a new cross-wave connection, a host gone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.discover import discover
from orchestrator.plan import Plan, load_plan
from orchestrator.workspace import Workspace, init_workspace

pytestmark = pytest.mark.integration
PLAN_ID = "drift"


def pindah(ws: Workspace, *args: str, user: str = "ana") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PINDAH_WORKSPACE": str(ws.root), "PINDAH_USER": user}
    return subprocess.run([sys.executable, "-c", "from orchestrator.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=600, check=False)


def _links_up(lab: Any, ws: Workspace, inventory: Path) -> None:
    """Discover until every connection the lab promises is seen (its clients connect with back-off)."""
    address = {h.name: h.address for h in lab.manifest.hosts}
    for _ in range(8):
        result = discover(ws, inventory, forks=10, timeout=10)
        seen = {(f.name, c.remote_address, c.remote_port) for f in result.facts for c in f.connections}
        if all((h.name, address[c.target], c.port) in seen for h in lab.manifest.hosts for c in h.connections):
            return
        time.sleep(2)
    pytest.fail("the lab's connections did not all come up")


@pytest.fixture(scope="module")
def planned(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Plan]]:
    ws = init_workspace(tmp_path_factory.mktemp("driftws"))
    inventory = Path(lab.manifest.paths.inventory)
    _links_up(lab, ws, inventory)
    created = pindah(ws, "plan", "create", "--id", PLAN_ID, "--max-wave-servers", "3")
    assert created.returncode == 0, created.stderr
    approved = pindah(ws, "plan", "approve", PLAN_ID, user="budi")
    assert approved.returncode == 0, approved.stderr
    plan = load_plan(ws.plans_dir, PLAN_ID)
    assert len(plan.waves) >= 2
    yield ws, plan


def _check(ws: Workspace) -> tuple[int, dict[str, Any]]:
    done = pindah(ws, "plan", "check", PLAN_ID, "--json")
    assert done.returncode in (0, 4), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_unchanged_estate_is_still_valid(planned: tuple[Workspace, Plan], lab: Any) -> None:
    ws, _ = planned
    discover(ws, Path(lab.manifest.paths.inventory), forks=10, timeout=10)
    code, body = _check(ws)
    assert code == 0, body["findings"]
    assert body["approved_by"] == "budi" and body["drifted"] is False


def _pair(lab: Any, plan: Plan) -> tuple[str, str, int]:
    """A consumer and a listening provider in different waves, not yet connected."""
    wave = {s.name: s.wave for s in plan.servers}
    known = {(d.source, d.target, d.port) for d in plan.dependencies}
    for provider in lab.manifest.hosts:
        for service in (s for s in provider.services if s.port):
            for consumer in lab.manifest.hosts:
                if wave[consumer.name] != wave[provider.name] and \
                        (consumer.name, provider.name, service.port) not in known:
                    return consumer.name, provider.name, service.port
    pytest.fail("no two lab hosts in different waves to connect")


def _ssh(lab: Any, address: str, command: str) -> str:
    client = lab.ssh(address)
    try:
        _, stdout, _ = client.exec_command(command, timeout=20)
        out = stdout.read().decode()
        assert stdout.channel.recv_exit_status() == 0, out
        return out
    finally:
        client.close()


def test_new_cross_wave_connection_drifts(planned: tuple[Workspace, Plan], lab: Any, tmp_path: Path) -> None:
    ws, plan = planned
    consumer, provider, port = _pair(lab, plan)
    source = lab.manifest.host(consumer).address
    target = lab.manifest.host(provider).address
    program = f"import socket,time; s=socket.create_connection(('{target}',{port})); time.sleep(600)"
    pid = _ssh(lab, source, f'nohup python3 -c "{program}" </dev/null >/dev/null 2>&1 & echo $!').strip()
    try:
        time.sleep(1)
        discover(ws, Path(lab.manifest.paths.inventory), forks=10, timeout=10)
        junit = tmp_path / "check.xml"
        done = pindah(ws, "plan", "check", PLAN_ID, "--junit", str(junit))
        assert done.returncode == 4, done.stdout + done.stderr
        assert f"new dependency {consumer} (wave" in done.stdout and f"{provider}:{port}" in done.stdout
        assert "DRIFTED" in done.stdout and "<failure" in junit.read_text()
    finally:
        _ssh(lab, source, f"kill {int(pid)}")


def test_host_gone_drifts(planned: tuple[Workspace, Plan], lab: Any, tmp_path: Path) -> None:
    ws, plan = planned
    gone = plan.waves[-1].servers[0]
    raw = yaml.safe_load(Path(lab.manifest.paths.inventory).read_text())
    for group in raw["all"]["children"].values():
        (group.get("hosts") or {}).pop(gone, None)
    inventory = tmp_path / "without.yml"
    inventory.write_text(yaml.safe_dump(raw))
    discover(ws, inventory, forks=10, timeout=10)
    code, body = _check(ws)
    assert code == 4
    gone_findings = [f for f in body["findings"] if f["kind"] == "server" and f["severity"] == "drift"]
    assert [f["subject"] for f in gone_findings] == [gone]
    assert "is gone" in gone_findings[0]["message"]


def _gitlab_job() -> dict[str, Any]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "ci.md").read_text(encoding="utf-8")
    block = text.split("# .gitlab-ci.yml", 1)[1].split("\n", 1)[1].split("```", 1)[0]
    job = yaml.safe_load(block)["drift"]
    assert isinstance(job, dict)
    return job


def test_documented_gitlab_job_runs_against_the_lab(planned: tuple[Workspace, Plan], lab: Any,
                                                    tmp_path: Path) -> None:
    """docs/ci.md's GitLab job, line by line in a shell: discover, audit verify, plan check, report, export."""
    ws, _ = planned
    shutil.copy(lab.manifest.paths.inventory, ws.inventory_dir / "hosts.yml")
    job = _gitlab_job()
    env = {**os.environ, **{k: str(v) for k, v in job["variables"].items()}, "PINDAH_WORKSPACE": str(ws.root),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env["PLAN_ID"] = PLAN_ID
    for line in [*job["script"], *job["after_script"]]:
        done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600, check=False)
        assert done.returncode == 0, (line, done.stdout, done.stderr)
    for artifact in job["artifacts"]["paths"]:
        assert (tmp_path / artifact).stat().st_size > 0, artifact
    assert json.loads((tmp_path / "plan-check.json").read_text())["drifted"] is False
    assert (tmp_path / job["artifacts"]["reports"]["junit"]).read_text().count("<failure") == 0
