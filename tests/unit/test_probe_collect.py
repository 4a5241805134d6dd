"""Collection over a fake connector: bounded concurrency, order, failures as data, progress callbacks."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from discovery.collect import probe_all, probe_host
from discovery.errors import AuthFailed
from discovery.probes import script
from discovery.transport import CommandResult, KnownHostsFile, SshOptions, SshTarget, Transport

OUTPUT = {
    "os": "==> /etc/os-release <==\nID=rhel\nVERSION_ID=\"7.7\"\nNAME=\"Red Hat Enterprise Linux Server\"",
    "hostname": "web-01.example",
    "cpu": "processor : 0\nprocessor : 1\n",
    "memory": "MemTotal: 8388608 kB",
    "disks": "%% lsblk\nsda 107374182400 disk",
    "sockets": "%% ss\nLISTEN 0 128 0.0.0.0:5432 0.0.0.0:* users:((\"postgres\",pid=1,fd=3))",
    "packages": "%% rpm\npostgresql-server\t(none):9.2.24-4.el7\tx86_64",
    "services": "%% units\npostgresql.service loaded active running PostgreSQL\n%% unit-files\n"
                "postgresql.service enabled",
    "network": "%% ip-link\n2: eth0: <UP> mtu 1500\\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff\n"
               "%% ip-addr\n2: eth0    inet 10.0.0.0/24 scope global eth0\n%% ip-route\ndefault via 10.0.0.254\n"
               "%% resolv\nnameserver 10.0.0.53",
    "mounts": "Filesystem Type 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 xfs 1048576 524288 524288 50% /",
    "cron": "%% system /etc/crontab\n%% user postgres\n0 2 * * * /usr/local/bin/backup",
    "virtualization": "%% detect vmware",
    "processes": "postgres /usr/pgsql-9.2/bin/postgres -D /var/lib/pgsql",
}


class FakeTransport:
    """Answers the probe script with canned output; anything else fails loudly."""

    def __init__(self, gauge: Gauge) -> None:
        self.gauge = gauge

    def run(self, command: str) -> CommandResult:
        assert command.startswith("/bin/sh -c "), command
        nonce = command.split("@@PINDAH:", 1)[1].split(":", 1)[0]
        with self.gauge:
            time.sleep(0.05)
        body = "".join(f"@@PINDAH:{nonce}:BEGIN:{k}@@\n{v}\n@@PINDAH:{nonce}:END:{k}:0@@\n"
                       for k, v in OUTPUT.items())
        return CommandResult(0, body, "")

    def close(self) -> None:
        pass


class Gauge:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


def _targets(n: int, tmp_path: Path) -> list[tuple[SshTarget, KnownHostsFile]]:
    known = KnownHostsFile(tmp_path / "known_hosts")
    return [(SshTarget(name=f"h{i:02d}", address=f"10.0.0.{i}"), known) for i in range(n)]


def test_forks_bound_concurrency_and_order_is_kept(tmp_path: Path) -> None:
    gauge = Gauge()
    done: list[str] = []

    def connector(target: SshTarget, options: SshOptions, known: KnownHostsFile) -> Transport:
        if target.name == "h03":
            raise AuthFailed("denied", host=target.name)
        return FakeTransport(gauge)

    facts = probe_all(_targets(12, tmp_path), SshOptions(), forks=3, on_done=lambda f: done.append(f.name),
                      connector=connector)
    assert [f.name for f in facts] == [f"h{i:02d}" for i in range(12)]
    assert sorted(done) == [f.name for f in facts]
    assert gauge.peak == 3
    failed = [f for f in facts if not f.reachable]
    assert [f.name for f in failed] == ["h03"] and failed[0].errors[0].category == "auth"


def test_one_host_facts_from_canned_output(tmp_path: Path) -> None:
    (target, known), = _targets(1, tmp_path)
    facts = probe_host(target, SshOptions(), known, connector=lambda t, o, k: FakeTransport(Gauge()))
    assert facts.os is not None and (facts.os.id, facts.os.version_id, facts.os.family) == ("rhel", "7.7", "redhat")
    assert facts.cpu is not None and facts.cpu.count == 2
    assert facts.memory_mb == 8192
    assert facts.disks[0].size_gb == 100.0
    assert facts.listening[0].process == "postgres"
    assert set(facts.completeness.values()) == {"complete"}, facts.errors
    assert set(OUTPUT) <= set(script.PROBE_COMMANDS)
    assert [(m.kind, m.version) for m in facts.middleware] == [("postgres", "9.2.24")]
    assert facts.eol is not None and facts.eol.status == "eol" and facts.virtualization == "vmware"
    assert facts.default_gateway == "10.0.0.254" and facts.mounts[0].size_mb == 1024
    assert facts.services[0].active and facts.cron_jobs[0].user == "postgres"


def test_a_crashing_transport_is_recorded_not_raised(tmp_path: Path) -> None:
    class Broken(FakeTransport):
        def run(self, command: str) -> CommandResult:
            raise RuntimeError("boom")

    (target, known), = _targets(1, tmp_path)
    facts = probe_host(target, SshOptions(), known, connector=lambda t, o, k: Broken(Gauge()))
    assert not facts.reachable and "boom" in facts.errors[0].message


def test_script_without_markers_is_a_command_failure(tmp_path: Path) -> None:
    class Silent(FakeTransport):
        def run(self, command: str) -> CommandResult:
            return CommandResult(127, "", "sh: not found")

    (target, known), = _targets(1, tmp_path)
    facts = probe_host(target, SshOptions(), known, connector=lambda t, o, k: Silent(Gauge()))
    assert facts.errors[0].category == "command"
    assert script.PROBE_COMMANDS
