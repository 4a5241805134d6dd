"""A real wave against the lab: moto instances become sshd hosts, data moves with rsync, services cut over."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from orchestrator.cloud import load_cloud_settings
from orchestrator.lab import names
from orchestrator.plan import Application, Plan, PlannedServer, Wave, dump_plan
from orchestrator.runner.playbook import AnsibleRunnerPlaybooks, EventSink, PhaseRequest, PhaseResult
from orchestrator.runner.service import RunOptions, run_wave, server_events, server_status
from orchestrator.runner.shipped import playbooks_dir
from orchestrator.runner.states import PHASES, Phase

pytestmark = pytest.mark.integration

PLAN_ID = "wave-it"


def migration_inventory(lab: Any, path: Path, broken: set[str]) -> Path:
    """The lab inventory plus what to move per host (pindah_services, pindah_data_dirs) from lab.json."""
    raw = yaml.safe_load(Path(lab.manifest.paths.inventory).read_text())
    for group in raw["all"]["children"].values():
        for name, hostvars in (group.get("hosts") or {}).items():
            if not hostvars:
                continue
            host = lab.manifest.host(name)
            moved = [s for s in host.services if s.port and s.data_dir]
            hostvars["pindah_services"] = [{"name": s.name, "port": s.port} for s in moved]
            hostvars["pindah_data_dirs"] = [s.data_dir for s in moved]
            if name in broken:
                hostvars["ansible_port"] = 2  # nothing listens there: the source is unreachable
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def write_plan(lab: Any, servers: list[str]) -> None:
    planned = tuple(PlannedServer(name=n, application="it", wave=1, reason="integration test") for n in servers)
    plan = Plan(id=PLAN_ID, created_at="2026-01-01T00:00:00+00:00", input_digest="sha256:test", max_wave_servers=25,
                waves=(Wave(index=1, servers=tuple(servers), applications=("it",)),), oversized=(),
                applications=(Application(name="it", servers=tuple(servers), wave=1, source="inferred",
                                          reason="test"),),
                servers=planned, dependencies=(), cross_wave_weight=0.0)
    lab.workspace.plans_dir.mkdir(exist_ok=True)
    (lab.workspace.plans_dir / f"{PLAN_ID}.yaml").write_text(dump_plan(plan))


def answer(address: str, port: int, attempts: int = 3) -> str:
    """The service's answer; a loaded 2-core machine may need a second try, a dead service never answers."""
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(f"http://{address}:{port}/", timeout=10) as reply:
                return str(reply.read().decode())
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(1.0)
    raise AssertionError("unreachable")


def without_host(body: str) -> str:
    return "\n".join(line for line in body.splitlines() if not line.startswith("host="))


def restore_lab(lab: Any, plan_id: str, servers: list[str]) -> None:
    """Leave the shared lab as we found it: source services running again, names pointing at the sources,
    our instances terminated."""
    paths = lab.manifest.paths
    for name in servers:
        host = lab.manifest.host(name)
        names.update(names.names_file(lab.state_dir), {name: host.address})
        for svc in (s for s in host.services if s.port and s.data_dir):
            subprocess.run(["ssh", "-i", paths.private_key, "-o", f"UserKnownHostsFile={paths.known_hosts}",
                            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", f"root@{host.address}",
                            f"/etc/init.d/{svc.name}", "start"], capture_output=True, timeout=30, check=False)
    cloud = lab.manifest.cloud
    ec2 = boto3.client("ec2", endpoint_url=cloud.ec2_endpoint, region_name=cloud.region,
                       aws_access_key_id=cloud.access_key, aws_secret_access_key=cloud.secret_key)
    found = ec2.describe_instances(Filters=[{"Name": "tag:pindah:plan", "Values": [plan_id]}])["Reservations"]
    ids = [i["InstanceId"] for r in found for i in r["Instances"]]
    if ids:
        ec2.terminate_instances(InstanceIds=ids)


@dataclass
class ProvisionTwice:
    """The real runner, but provision runs twice: the second run must find, not create."""

    real: AnsibleRunnerPlaybooks
    provisions: list[PhaseResult] = field(default_factory=list)

    def run_phase(self, request: PhaseRequest, on_event: EventSink) -> PhaseResult:
        result = self.real.run_phase(request, on_event)
        if request.phase is Phase.PROVISION:
            self.provisions.append(result)
            self.provisions.append(self.real.run_phase(request, on_event))
        return result


def test_wave_migrates_servers_and_isolates_a_broken_one(lab: Any, tmp_path: Path) -> None:
    movable = [h for h in lab.manifest.hosts if any(s.port and s.data_dir for s in h.services)]
    assert len(movable) >= 4, "the lab needs four hosts with a data service"
    good, broken = [h.name for h in movable[:3]], movable[3].name
    inventory = migration_inventory(lab, tmp_path / "inventory.yml", {broken})
    write_plan(lab, [*good, broken])
    before = {}
    for name in good:
        host = lab.manifest.host(name)
        svc = next(s for s in host.services if s.port and s.data_dir)
        before[name] = (host.address, svc, answer(host.address, svc.port))

    try:
        check_wave(lab, good, broken, before, inventory)
    finally:
        restore_lab(lab, PLAN_ID, good)


def check_wave(lab: Any, good: list[str], broken: str, before: dict[str, Any], inventory: Path) -> None:
    runner = ProvisionTwice(AnsibleRunnerPlaybooks(playbooks_dir()))
    started = time.monotonic()
    result = run_wave(lab.workspace, RunOptions(PLAN_ID, 1, inventory=inventory, forks=10,
                                                  force_reason="test: a hand-written plan, not approved"), runner=runner)
    elapsed = time.monotonic() - started
    print(f"wave of {len(good) + 1} lab servers: {elapsed:.1f}s")

    assert result.failed == [broken], result.errors
    status = {row["name"]: row for row in server_status(lab.workspace, PLAN_ID)}
    assert {status[n]["state"] for n in good} == {"done"}
    assert status[broken]["state"] == "failed" and status[broken]["phase"] == "precheck"
    assert "unreachable" in status[broken]["error"].lower() or "port 2" in status[broken]["error"]

    first, second = runner.provisions
    for name in good:
        assert first.outcomes[name].outputs["instance_id"] == second.outcomes[name].outputs["instance_id"]
        assert second.outcomes[name].outputs["created"] in (False, "False")
    cloud = load_cloud_settings(lab.workspace)
    ec2 = boto3.client("ec2", endpoint_url=cloud.ec2_endpoint, region_name=cloud.region,
                       aws_access_key_id="lab", aws_secret_access_key=lab.manifest.cloud.secret_key)
    tagged = [i for r in ec2.describe_instances(Filters=[{"Name": "tag:pindah:plan", "Values": [PLAN_ID]}])[
        "Reservations"] for i in r["Instances"] if i["State"]["Name"] == "running"]
    assert sorted(t["Value"] for i in tagged for t in i["Tags"] if t["Key"] == "pindah:server") == sorted(good)

    for name in good:
        address, svc, source_body = before[name]
        target = status[name]["target"]
        assert target["instance_id"].startswith("i-") and target["address"]
        with pytest.raises(OSError):
            answer(address, svc.port)  # the source service is stopped
        assert without_host(answer(target["address"], svc.port)) == without_host(source_body)
        assert "files=0" not in source_body  # real data moved, not an empty dir

    events = server_events(lab.workspace, good[0])
    assert {e["phase"] for e in events} >= {p.value for p in PHASES}
    secret = lab.manifest.cloud.secret_key.encode()
    assert secret not in lab.workspace.db_path.read_bytes()
    for leftover in lab.workspace.runs_dir.rglob("*"):
        if leftover.is_file():
            assert secret not in leftover.read_bytes(), leftover
