"""The cloud watcher: every running instance in the lab subnet becomes a reachable lab host.

Started detached by ``lab up`` (``python -m orchestrator.lab.watcher ...``); polls DescribeInstances.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from orchestrator.lab import hosts as labhosts
from orchestrator.lab import names, netns, outputs
from orchestrator.lab.distros import CLOUD_IMAGE_DISTRO, DISTROS
from orchestrator.lab.manifest import MANIFEST_NAME, LabDisk, LabHost, LabManifest

POLL_SECONDS = 0.5
FLAVORS = {"t3.micro": (2, 1024), "t3.small": (2, 2048), "t3.medium": (2, 4096), "t3.large": (2, 8192),
           "t3.xlarge": (4, 16384), "t3.2xlarge": (8, 32768), "m5.large": (2, 8192), "m5.xlarge": (4, 16384),
           "m5.2xlarge": (8, 32768), "m5.4xlarge": (16, 65536)}


def start_watcher(ctx: Any) -> int:
    from orchestrator.lab.cloud import spawn
    from orchestrator.lab.estate import record_pid

    args = [ctx.python, "-m", "orchestrator.lab.watcher", str(ctx.state_dir), ctx.subnet]
    pid = spawn(args, ctx.state_dir / "watcher.log")
    record_pid(ctx.state_dir, "watcher", pid)
    return pid


def cloud_host(instance: dict[str, Any]) -> LabHost:
    """A fresh instance of the lab image: Rocky Linux, blank /srv, no services yet."""
    from orchestrator.lab.topology import _os

    cpu, mem = FLAVORS.get(str(instance.get("InstanceType", "")), (2, 4096))
    address = str(instance["PrivateIpAddress"])
    name = str(instance["InstanceId"])
    return LabHost(
        name=name, address=address, hostname="ip-" + address.replace(".", "-"),
        os=_os(DISTROS[CLOUD_IMAGE_DISTRO]), cpu_count=cpu, memory_mb=mem,
        disks=(LabDisk(name="sda", size_gb=40),), application="", tier="", role="", environment="",
        site="cloud", agency="", criticality="", instance_id=name,
        services=(), connections=(),
    )


def valid(instance: dict[str, Any], cidr: str) -> bool:
    """Only well-formed instances in the lab's cloud subnet become hosts (their id names files)."""
    if not re.fullmatch(r"i-[0-9a-f]{8,32}", str(instance.get("InstanceId", ""))):
        return False
    try:
        return ipaddress.ip_address(str(instance.get("PrivateIpAddress", ""))) in ipaddress.ip_network(cidr)
    except ValueError:
        return False


class Watcher:
    def __init__(self, state_dir: Path, subnet: str) -> None:
        from orchestrator.lab.estate import context

        self.ctx = context(state_dir, subnet)
        self.records = state_dir / "cloud-hosts"
        self.records.mkdir(exist_ok=True)

    def manifest(self) -> LabManifest | None:
        try:
            return LabManifest.model_validate_json((self.ctx.state_dir / MANIFEST_NAME).read_text())
        except (OSError, ValueError):
            return None

    def slot(self, address: str, cidr: str) -> str:
        return "c" + str(int(ipaddress.ip_address(address)) - int(ipaddress.ip_network(cidr).network_address))

    def add(self, instance: dict[str, Any], manifest: LabManifest) -> None:
        from orchestrator.lab.estate import boot_host

        assert manifest.cloud is not None
        host = cloud_host(instance)
        slot = self.slot(host.address, manifest.cloud.subnet_cidr)
        names.update(names.names_file(self.ctx.state_dir), {host.hostname: host.address})
        netns.create_host_nets(self.ctx.tag, [slot])
        pid, public = boot_host(self.ctx, slot, host)
        with self.ctx.known_hosts.open("a", encoding="utf-8") as fh:
            fh.write(outputs.known_hosts_line(host.address, public))
        record = {"slot": slot, "pid": pid, "host": host.model_dump(mode="json")}
        tmp = self.ctx.host_dir(host.name) / "record.json"
        tmp.write_text(json.dumps(record, indent=1) + "\n")
        tmp.replace(self.records / host.name)
        print(f"{host.name}: up at {host.address} (sshd pid {pid})", flush=True)

    def remove(self, name: str) -> None:
        record = json.loads((self.records / name).read_text())
        slot, address = record["slot"], record["host"]["address"]
        names.update(names.names_file(self.ctx.state_dir), {record["host"]["hostname"]: None})
        labhosts.kill_netns([netns.netns_name(self.ctx.tag, slot)])
        netns.delete_host_net(self.ctx.tag, slot)
        shutil.rmtree(self.ctx.host_dir(name), ignore_errors=True)
        lines = self.ctx.known_hosts.read_text().splitlines(keepends=True)
        self.ctx.known_hosts.write_text("".join(ln for ln in lines if not ln.startswith(address + " ")))
        (self.records / name).unlink()
        print(f"{name}: removed", flush=True)

    def poll(self, ec2: Any, manifest: LabManifest) -> None:
        assert manifest.cloud is not None
        wanted: dict[str, dict[str, Any]] = {}
        pages = ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "subnet-id", "Values": [manifest.cloud.subnet_id]}])
        for page in pages:
            for reservation in page["Reservations"]:
                for inst in reservation["Instances"]:
                    if inst["State"]["Name"] in ("pending", "running") and valid(inst, manifest.cloud.subnet_cidr):
                        wanted[inst["InstanceId"]] = inst
        have = {p.name for p in self.records.iterdir()}
        for name in sorted(have - set(wanted)):
            self.remove(name)
        for name in sorted(set(wanted) - have):
            try:
                self.add(wanted[name], manifest)
            except Exception as exc:  # keep watching; the log says why
                print(f"{name}: cannot start host: {exc}", flush=True)

    def run(self) -> None:
        from orchestrator.lab.cloud import client

        ec2 = None
        while True:
            manifest = self.manifest()
            if manifest is not None and manifest.cloud is not None:
                ec2 = ec2 or client("ec2", manifest.cloud.ec2_endpoint)
                try:
                    self.poll(ec2, manifest)
                except Exception as exc:  # the endpoint may be restarting
                    print(f"poll failed: {exc}", flush=True)
            time.sleep(POLL_SECONDS)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pindah-lab-watcher")
    parser.add_argument("state_dir", type=Path)
    parser.add_argument("subnet")
    args = parser.parse_args(argv)
    Watcher(args.state_dir, args.subnet).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
