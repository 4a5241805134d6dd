"""Benchmark: discovery's peak memory per host at estate scale, without a lab.

``discover()`` runs in this process over a fake connector that answers the probe script with the output
of a realistic server (700 rpm packages, 150 services, 250 processes, 40 sockets; about 0.5 MB of facts
per host in memory), for N hosts (default 2,700) into a fresh workspace. Prints the peak RSS (VmHWM)
after the imports and after discovery, the MiB per host between them and the stored JSON per host; the
target is a peak under 1 GB for 2,700 hosts. Asserts nothing. Usage:
    python tests/bench/bench_discovery_memory.py [--hosts 2700] [--forks 50]
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import tempfile
import time
from pathlib import Path

import yaml

PACKAGES, SERVICES, PROCESSES, SOCKETS = 700, 150, 250, 40


def _section_texts(index: int) -> dict[str, str]:
    me = f"10.{index // 250}.{index % 250}.10"
    listen = "".join(f"LISTEN 0 128 0.0.0.0:{8000 + p} 0.0.0.0:* users:((\"svc{p}\",pid={100 + p},fd=3))\n"
                     for p in range(SOCKETS // 2))
    estab = "".join(f"ESTAB 0 0 {me}:{40000 + p} 10.{p}.0.{p + 1}:5432 users:((\"app{p}\",pid={300 + p},fd=7))\n"
                    for p in range(SOCKETS // 2))
    return {
        "os": "==> /etc/os-release <==\nID=rhel\nVERSION_ID=\"7.9\"\nNAME=\"Red Hat Enterprise Linux Server\"",
        "hostname": f"host-{index:05d}.example",
        "cpu": "processor : 0\nprocessor : 1\nprocessor : 2\nprocessor : 3\n",
        "memory": "MemTotal: 16777216 kB",
        "disks": "%% lsblk\nsda 107374182400 disk\nsdb 536870912000 disk",
        "sockets": "%% ss\n" + listen + estab,
        "packages": "%% rpm\n" + "".join(f"package-number-{p:04d}-libs\t(none):{p % 9}.{p % 17}.{p}-4.el7_9\tx86_64\n"
                                         for p in range(PACKAGES)),
        "services": "%% units\n" + "".join(f"service-{s:03d}.service loaded active running Service {s} daemon\n"
                                           for s in range(SERVICES))
                    + "%% unit-files\n" + "".join(f"service-{s:03d}.service enabled\n" for s in range(SERVICES)),
        "network": f"%% ip-link\n2: eth0: <UP> mtu 1500\\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff\n"
                   f"%% ip-addr\n2: eth0    inet {me}/16 scope global eth0\n%% ip-route\ndefault via 10.0.0.254\n"
                   "%% resolv\nnameserver 10.0.0.53",
        "mounts": "Filesystem Type 1024-blocks Used Available Capacity Mounted on\n"
                  "/dev/sda1 xfs 1048576 524288 524288 50% /\n/dev/sdb1 xfs 8388608 4194304 4194304 50% /data",
        "cron": "%% system /etc/crontab\n%% user root\n0 2 * * * /usr/local/bin/backup --all",
        "virtualization": "%% detect vmware",
        "processes": "".join(f"proc{p % 120} /usr/lib/app/bin/proc{p % 120} --config /etc/app/{p}.conf --verbose\n"
                             for p in range(PROCESSES)),
    }


class FakeTransport:
    def __init__(self, index: int) -> None:
        self.index = index

    def run(self, command: str) -> object:
        from discovery.transport import CommandResult

        nonce = command.split("@@PINDAH:", 1)[1].split(":", 1)[0]
        body = "".join(f"@@PINDAH:{nonce}:BEGIN:{k}@@\n{v}\n@@PINDAH:{nonce}:END:{k}:0@@\n"
                       for k, v in _section_texts(self.index).items())
        time.sleep(0.01)  # the network's share: lets hosts overlap as they would
        return CommandResult(0, body, "")

    def close(self) -> None:
        pass


def connector(target: object, options: object, known: object) -> FakeTransport:
    return FakeTransport(int(target.name.rsplit("-", 1)[1]))  # type: ignore[attr-defined]


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=2700)
    parser.add_argument("--forks", type=int, default=50)
    args = parser.parse_args()
    from orchestrator.discover import discover
    from orchestrator.workspace import init_workspace

    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="pindah-bench-mem-") as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        hosts = {f"host-{i:05d}": {"ansible_host": f"10.{i // 250}.{i % 250}.10"} for i in range(args.hosts)}
        inventory = ws.inventory_dir / "hosts.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
        fixed = peak_mib()
        started = time.perf_counter()
        result = discover(ws, inventory, forks=args.forks, connector=connector)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        peak = peak_mib()
        with sqlite3.connect(ws.db_path) as conn:
            stored = conn.execute("SELECT COUNT(*), SUM(LENGTH(facts)) FROM host_facts").fetchone()
    per_host = (peak - fixed) / args.hosts
    print(f"{args.hosts} hosts, {args.forks} at once: {seconds:.1f}s, {len(result.failed)} failed")
    print(f"peak RSS: {fixed:.0f} MiB after the imports, {peak:.0f} MiB after discovery; "
          f"{per_host:.3f} MiB/host; projected for 2,700 hosts: {fixed + per_host * 2700:.0f} MiB "
          "(target < 1000 MB)")
    print(f"stored facts: {stored[1] / max(stored[0], 1) / 1024:.0f} KiB/host (JSON)")


if __name__ == "__main__":
    main()
