"""Every phase playbook on real lab hosts: one wave where one server goes all the way and six others each
fail at a different phase (precheck, backup, provision, replicate, cutover, validate) and are rolled back.

The failures are real ones (a dependency not migrated, a vanished path for rsync, an unknown subnet,
target data corrupted after cutover), run through ansible-runner against real sshd hosts, SeaweedFS and
moto; after each phase the servers that failed go through rollback.yml, as the engine does.
"""

from __future__ import annotations

import json
import shlex
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from orchestrator.cloud import load_cloud_settings
from orchestrator.inventory import load_inventory
from orchestrator.lab import names
from orchestrator.runner.hostvars import Peer, WaveContext, phase_data, wave_extravars, wave_hostvars
from orchestrator.runner.playbook import AnsibleRunnerPlaybooks, HostOutcome, PhaseRequest
from orchestrator.runner.service import cloud_vars
from orchestrator.runner.shipped import playbooks_dir
from orchestrator.runner.states import Phase
from orchestrator.runner.targets import MigrationSpec, spec_from_host

pytestmark = pytest.mark.integration

PLAN_ID = "phases-it"
HAPPY = "ekinerja-bappenas-app01"  # its web01 connects to it on 8080
FAIL_AT = {
    "lpse-bappenas-web01": Phase.PRECHECK,
    "lpse-bappenas-app01": Phase.BACKUP,
    "lpse-bappenas-app02": Phase.PROVISION,
    "lpse-bappenas-db01": Phase.REPLICATE,
    "ekinerja-bappenas-web01": Phase.CUTOVER,
    "ekinerja-bappenas-db01": Phase.VALIDATE,
}
FORWARD = (Phase.PRECHECK, Phase.BACKUP, Phase.PROVISION, Phase.REPLICATE, Phase.CUTOVER, Phase.VALIDATE,
           Phase.FINALIZE)
MISSING = "/srv/pindah-test-vanished"


def answer(address: str, port: int) -> str:
    for attempt in range(3):
        try:
            with urllib.request.urlopen(f"http://{address}:{port}/", timeout=10) as reply:
                return str(reply.read().decode())
        except OSError:
            if attempt == 2:
                raise
            time.sleep(1.0)
    raise AssertionError("unreachable")


def without_host(body: str) -> str:
    return "\n".join(line for line in body.splitlines() if not line.startswith("host="))


@dataclass
class Wave:
    """A small driver over the real runner: hostvars from the pure module, outputs kept as the engine does."""

    lab: Any
    specs: dict[str, MigrationSpec]
    context: WaveContext
    workdir: Path
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[tuple[str, Phase], HostOutcome] = field(default_factory=dict)

    def run(self, phase: Phase, servers: list[str],
            overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, HostOutcome]:
        cloud = load_cloud_settings(self.lab.workspace)
        hostvars = wave_hostvars(self.specs, self.data, self.workdir, servers, self.context)
        for name, extra in (overrides or {}).items():
            hostvars[name].update(extra)
        request = PhaseRequest(phase=phase, servers=tuple(servers), hostvars=hostvars,
                               extravars=wave_extravars(PLAN_ID, 1, cloud_vars(cloud)), workdir=self.workdir,
                               env=cloud.credential_env())
        result = AnsibleRunnerPlaybooks(playbooks_dir()).run_phase(request, lambda server, record: None)
        for name, outcome in result.outcomes.items():
            self.outcomes[(name, phase)] = outcome
            if outcome.ok:
                self.data.setdefault(name, {}).update(phase_data(phase.value, outcome.outputs))
        return dict(result.outcomes)


def make_wave(lab: Any, tmp_path: Path) -> Wave:
    hosts = {h.name: h for h in load_inventory(Path(lab.manifest.paths.inventory))}
    servers = [HAPPY, *FAIL_AT]
    specs = {n: spec_from_host(hosts[n], default_known_hosts=lab.manifest.paths.known_hosts) for n in servers}
    web = lab.manifest.host("ekinerja-bappenas-web01")
    context = WaveContext(depends_on={"lpse-bappenas-web01": ("a-server-not-migrated",)},
                          dependents={HAPPY: (Peer(web.name, web.address, 8080),)},
                          ready=frozenset(servers))
    workdir = tmp_path / "runs" / "1"
    workdir.mkdir(parents=True)
    return Wave(lab, specs, context, workdir)


def injected(wave: Wave, phase: Phase, servers: list[str]) -> dict[str, dict[str, Any]]:
    """Host var changes that make the server meant to fail at ``phase`` fail there, for real."""
    out: dict[str, dict[str, Any]] = {}
    for name in servers:
        if FAIL_AT.get(name) is not phase:
            continue
        spec = wave.specs[name]
        if phase in (Phase.BACKUP, Phase.CUTOVER):  # a path rsync cannot read (after the source stopped, in cutover)
            out[name] = {"pindah_pull_sources": [f"{spec.source.user}@{spec.source.address}:{MISSING}/"]}
        elif phase is Phase.PROVISION:
            out[name] = {"pindah_target_subnet": "subnet-0000dead"}
        elif phase is Phase.REPLICATE:
            out[name] = {"pindah_push_sources": [f"{MISSING}/"]}
    return out


def corrupt_target(lab: Any, wave: Wave, name: str) -> None:
    target = wave.data[name]["target"]["address"]
    data_dir = wave.specs[name].data_dirs[0]
    with lab.ssh(target) as ssh:
        _, out, _ = ssh.exec_command(f"echo corrupted >> {shlex.quote(data_dir + '/records.csv')}")
        assert out.channel.recv_exit_status() == 0


def resolves(lab: Any, from_host: str, name: str) -> str:
    with lab.ssh(lab.manifest.host(from_host).address) as ssh:
        _, out, _ = ssh.exec_command(f"getent hosts {shlex.quote(name)}")
        return str(out.read().decode()).split()[0]


def live_instances(lab: Any, server: str) -> list[str]:
    cloud = lab.manifest.cloud
    ec2 = boto3.client("ec2", endpoint_url=cloud.ec2_endpoint, region_name=cloud.region,
                       aws_access_key_id=cloud.access_key, aws_secret_access_key=cloud.secret_key)
    found = ec2.describe_instances(Filters=[{"Name": "tag:pindah:plan", "Values": [PLAN_ID]},
                                            {"Name": "tag:pindah:server", "Values": [server]},
                                            {"Name": "instance-state-name", "Values": ["pending", "running"]}])
    return [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]]


def drive(lab: Any, wave: Wave) -> None:
    active = [HAPPY, *FAIL_AT]
    for phase in FORWARD:
        if phase is Phase.VALIDATE:
            corrupt_target(lab, wave, "ekinerja-bappenas-db01")
        outcomes = wave.run(phase, active, injected(wave, phase, active))
        failed = [n for n in active if not outcomes[n].ok]
        assert sorted(failed) == sorted(n for n in active if FAIL_AT.get(n) is phase), \
            {n: outcomes[n].error for n in active}
        if failed:
            rolled = wave.run(Phase.ROLLBACK, failed)
            assert all(o.ok for o in rolled.values()), {n: o.error for n, o in rolled.items()}
        active = [n for n in active if n not in failed]
    assert active == [HAPPY]


def test_phases_forward_and_rollback_from_every_phase(lab: Any, tmp_path: Path) -> None:
    wave = make_wave(lab, tmp_path)
    name_file = names.names_file(lab.state_dir)
    before = {}
    for name in wave.specs:
        host = lab.manifest.host(name)
        port = wave.specs[name].services[0].port
        before[name] = answer(host.address, port)
        assert names.read(name_file)[name] == host.address
    try:
        drive(lab, wave)
        check_rolled_back(lab, wave, before)
        check_migrated(lab, wave, before)
        check_cutover_guards(wave)
    finally:
        wave.run(Phase.ROLLBACK, list(wave.specs))
        with lab.ssh(lab.manifest.host(HAPPY).address) as ssh:
            ssh.exec_command("rm -f /etc/pindah-migrated")[1].channel.recv_exit_status()
    check_rolled_back(lab, wave, before, servers=[HAPPY])


def check_rolled_back(lab: Any, wave: Wave, before: dict[str, str], servers: list[str] | None = None) -> None:
    records = names.read(names.names_file(lab.state_dir))
    for name in servers or list(FAIL_AT):
        host = lab.manifest.host(name)
        port = wave.specs[name].services[0].port
        assert without_host(answer(host.address, port)) == without_host(before[name]), name
        assert records[name] == host.address, name
        assert resolves(lab, "dc-mon01", name) == host.address
        assert live_instances(lab, name) == [], name
    cutover = wave.data.get("ekinerja-bappenas-web01", {})
    assert cutover.get("replicate"), "the cutover failure happened after replicate"


def check_migrated(lab: Any, wave: Wave, before: dict[str, str]) -> None:
    host = lab.manifest.host(HAPPY)
    data = wave.data[HAPPY]
    target = data["target"]["address"]
    assert without_host(answer(target, 8080)) == without_host(before[HAPPY])
    with pytest.raises(OSError):
        answer(host.address, 8080)
    assert names.read(names.names_file(lab.state_dir))[HAPPY] == target
    assert resolves(lab, "ekinerja-bappenas-web01", HAPPY) == target
    web = lab.manifest.host("ekinerja-bappenas-web01").address
    assert web in data["validate"]["dependents_connected"]
    assert data["validate"]["data_digest"] == data["cutover"]["source_digest"] == data["backup"]["digest"]
    assert data["backup"]["verified"] in (True, "True") and int(data["backup"]["files"]) >= 2
    assert float(data["replicate"]["lag_seconds"]) >= 0 and int(data["replicate"]["delta_files"]) == 0
    with lab.ssh(host.address) as ssh:
        marker = json.loads(ssh.exec_command("cat /etc/pindah-migrated")[1].read().decode())
    assert marker["migrated_to"] == data["target"]["instance_id"] and marker["address"] == target
    assert not (wave.workdir / "staging" / HAPPY).exists()
    cloud = lab.manifest.cloud
    s3 = boto3.client("s3", endpoint_url=cloud.s3_endpoint, region_name=cloud.region,
                      aws_access_key_id=cloud.access_key, aws_secret_access_key=cloud.secret_key)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=cloud.bucket, Prefix=data["backup"]["prefix"])["Contents"]}
    assert {k.rsplit("/", 1)[1] for k in keys} == {"data.tar.gz", "manifest.json", "restore-verified.json"}


def check_cutover_guards(wave: Wave) -> None:
    again = wave.run(Phase.CUTOVER, [HAPPY])[HAPPY]
    assert again.ok, again.error
    assert again.outputs["already_done"] in (True, "True") and again.outputs["name_switched"] in (False, "False")
    forged = {HAPPY: {"pindah_recorded_backup": {"prefix": wave.data[HAPPY]["backup"]["prefix"],
                                                 "digest": "0" * 64}}}
    refused = wave.run(Phase.CUTOVER, [HAPPY], forged)[HAPPY]
    assert not refused.ok and "does not match" in (refused.error or "")
    missing = {HAPPY: {"pindah_recorded_backup": {"prefix": "pindah-backups/none/none/0", "digest": "0" * 64}}}
    refused = wave.run(Phase.CUTOVER, [HAPPY], missing)[HAPPY]
    assert not refused.ok and "no verified backup" in (refused.error or "")
