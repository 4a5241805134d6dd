"""The lab estate, seen from outside and from inside its hosts over real SSH."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest

from orchestrator.lab import LabHost, cloud_hosts, lab_down, lab_status, lab_up, load_manifest

pytestmark = pytest.mark.integration


def run(lab, address: str, command: str) -> tuple[int, str]:
    client = lab.ssh(address)
    try:
        _, stdout, _ = client.exec_command(command, timeout=20)
        out = stdout.read().decode()
        return stdout.channel.recv_exit_status(), out
    finally:
        client.close()


def by_tier(lab, tier: str) -> LabHost:
    return next(h for h in lab.manifest.hosts if h.tier == tier)


def test_outputs_written(lab):
    m = lab.manifest
    assert len(m.hosts) == 10
    known = Path(m.paths.known_hosts).read_text().splitlines()
    assert {line.split()[0] for line in known} >= {h.address for h in m.hosts}
    inventory = Path(m.paths.inventory).read_text()
    assert m.paths.known_hosts in inventory and "StrictHostKeyChecking=yes" in inventory
    assert load_manifest(lab.state_dir) == m
    assert Path(m.paths.servers_csv).read_text().startswith("name,address,application,")
    status = lab_status(lab.state_dir)
    assert (status.hosts_up, status.hosts_expected) == (10, 10)
    assert status.s3_alive and status.ec2_alive and status.watcher_alive


def test_same_lab_up_again_is_a_noop(lab):
    again = lab_up(lab.state_dir, len(lab.manifest.hosts), seed=lab.manifest.seed, subnet=lab.manifest.subnet)
    assert again == lab.manifest


@pytest.mark.parametrize("tier", ["dns", "db"])
def test_host_shows_its_own_identity(lab, tier):
    host = by_tier(lab, tier)
    rc, out = run(lab, host.address, "hostname; echo ---; cat /etc/os-release /usr/lib/os-release 2>&1; "
                  "echo ---; nproc; grep -c ^processor /proc/cpuinfo; grep MemTotal /proc/meminfo; "
                  "echo ---; cat /proc/partitions; lsblk -b -d -n -o NAME,SIZE")
    assert rc == 0
    hostname, osrel, hw, disks = out.split("---\n")
    assert hostname.strip() == host.hostname
    if host.os.key in ("rhel6.10", "centos6.7", "sles11.4"):
        assert "No such file" in osrel
    else:
        assert f'VERSION_ID="{host.os.version_id}"' in osrel
    nproc, processors, mem = hw.split("\n")[:3]
    assert int(nproc) == int(processors) == host.cpu_count
    assert int(mem.split()[1]) == host.memory_mb * 1024
    sizes = dict(line.split() for line in disks.splitlines() if line.startswith("sd") and len(line.split()) == 2)
    assert sizes == {d.name: str(d.size_gb * 1024**3) for d in host.disks}
    for disk in host.disks:
        assert f"{disk.size_gb * 1024 * 1024} {disk.name}\n" in disks


def test_sockets_are_the_hosts_own(lab):
    app = by_tier(lab, "app")
    rc, out = run(lab, app.address, "ss -tlnp; echo ---; ss -tnp")
    assert rc == 0
    listening, established = out.split("---\n")
    assert '"java"' in listening and ":8080" in listening and '"zabbix_agentd"' in listening
    assert '"postgres"' not in listening and ":5432 " not in listening.replace("\n", " ")
    others = {h.address for h in lab.manifest.hosts if h.name != app.name}
    local_addrs = {line.split()[3].rsplit(":", 1)[0] for line in established.splitlines()[1:] if line.strip()}
    assert local_addrs == {app.address}
    assert not local_addrs & others
    deadline = time.time() + 15
    wanted = {(lab.manifest.host(c.target).address, c.port, c.process) for c in app.connections}
    while time.time() < deadline:
        _, out = run(lab, app.address, "ss -tnp state established")
        seen = {(line.split()[3].rsplit(":", 1)[0], int(line.split()[3].rsplit(":", 1)[1]),
                 line.split('"')[1]) for line in out.splitlines()[1:] if '"' in line}
        if wanted <= seen:
            break
        time.sleep(0.5)
    assert wanted <= seen


def test_processes_are_the_hosts_own(lab):
    db = by_tier(lab, "db")
    rc, out = run(lab, db.address, "ps -e -o comm=")
    assert rc == 0
    assert set(out.split()) == {"sshd", "sh", "ps"} | {s.process for s in db.services}


def test_web_answers_with_data_digest_and_init_script_works(lab):
    web = by_tier(lab, "web")
    service = next(s for s in web.services if s.process == "nginx")
    data = lab.state_dir / "hosts" / web.name / "srv" / service.data_dir.removeprefix("/srv/")
    digest = hashlib.sha256()
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(data)).encode() + b"\0" + path.read_bytes())
    body = subprocess.run(["curl", "-s", f"http://{web.address}/"], capture_output=True, text=True,
                          check=True).stdout
    assert "service=nginx" in body and f"sha256={digest.hexdigest()}" in body
    _, out = run(lab, web.address, "/etc/init.d/nginx stop; /etc/init.d/nginx status; echo rc=$?; "
                  "ss -tln | grep -c ':80 ' ; /etc/init.d/nginx start; /etc/init.d/nginx status; echo rc=$?")
    assert "rc=3" in out and "rc=0" in out
    assert subprocess.run(["curl", "-s", f"http://{web.address}/"], capture_output=True, text=True,
                          check=True).stdout == body


def test_ec2_instance_becomes_ssh_host_and_s3_works(lab):
    import boto3

    cloud = lab.manifest.cloud
    assert cloud is not None
    kwargs = {"endpoint_url": cloud.ec2_endpoint, "region_name": cloud.region,
              "aws_access_key_id": cloud.access_key, "aws_secret_access_key": cloud.secret_key}
    ec2 = boto3.client("ec2", **kwargs)
    inst = ec2.run_instances(ImageId=cloud.image_id, MinCount=1, MaxCount=1, SubnetId=cloud.subnet_id,
                             InstanceType="t3.large")["Instances"][0]
    address = inst["PrivateIpAddress"]
    deadline = time.time() + 20
    while address not in Path(lab.manifest.paths.known_hosts).read_text() and time.time() < deadline:
        time.sleep(0.2)
    rc, out = run(lab, address, "grep ^ID= /etc/os-release; nproc; ls -A /srv | wc -l")
    assert rc == 0 and out.split() == ["ID=\"rocky\"", "2", "0"]
    assert [(h.instance_id, h.address) for h in cloud_hosts(lab.state_dir)] == [(inst["InstanceId"], address)]
    ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])
    deadline = time.time() + 20
    while address in Path(lab.manifest.paths.known_hosts).read_text() and time.time() < deadline:
        time.sleep(0.2)
    assert address not in Path(lab.manifest.paths.known_hosts).read_text()

    kwargs["endpoint_url"] = cloud.s3_endpoint
    s3 = boto3.client("s3", **kwargs)
    s3.put_object(Bucket=cloud.bucket, Key="t/hello.txt", Body=b"hello lab")
    assert s3.get_object(Bucket=cloud.bucket, Key="t/hello.txt")["Body"].read() == b"hello lab"


def test_lab_down_leaves_nothing(tmp_path, lab_capable):
    state = tmp_path / "lab"
    manifest = lab_up(state, 3, seed=1, subnet="10.239.0.0/16", cloud=False)
    pids = list(manifest.pids.values())
    lab_down(state)
    lab_down(state)  # idempotent
    assert not state.exists()
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout)
    from orchestrator.lab.netns import lab_tag

    tag = lab_tag(state)
    assert tag not in netns
    assert not [link for link in links if link["ifname"].startswith(tag)]
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def established(lab, address: str) -> set[tuple[str, int, str]]:
    _, out = run(lab, address, "ss -tnp state established")
    return {(line.split()[3].rsplit(":", 1)[0], int(line.split()[3].rsplit(":", 1)[1]), line.split('"')[1])
            for line in out.splitlines()[1:] if '"' in line}


def test_connections_heal_after_peer_restart(lab):
    app = by_tier(lab, "app")
    web = next(h for h in lab.manifest.hosts
               if h.tier == "web" and any(c.target == app.name for c in h.connections))
    edge = (app.address, 8080, "nginx")
    rc, out = run(lab, app.address, "/etc/init.d/tomcat restart")
    assert rc == 0, out
    deadline = time.time() + 15
    while edge not in established(lab, web.address) and time.time() < deadline:
        time.sleep(0.5)
    assert edge in established(lab, web.address)


def test_cli_up_again_and_status(lab):
    from typer.testing import CliRunner

    from orchestrator.cli import app

    m = lab.manifest
    runner = CliRunner()
    result = runner.invoke(app, ["-w", str(lab.workspace.root), "lab", "up", "--hosts", str(m.host_count),
                                 "--seed", str(m.seed), "--subnet", m.subnet])
    assert result.exit_code == 0, result.output
    assert "already up" in result.output and m.paths.inventory in result.output
    result = runner.invoke(app, ["-w", str(lab.workspace.root), "lab", "status", "--json"])
    status = json.loads(result.stdout)
    assert status["hosts_up"] == status["hosts_expected"] == m.host_count
    result = runner.invoke(app, ["-w", str(lab.workspace.root), "lab", "up", "--hosts", "3"])
    assert result.exit_code != 0
