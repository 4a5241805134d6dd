"""Transport and discovery against a real throwaway sshd on 127.0.0.1 (needs root and OpenSSH).

Covers every failure category: refused, unreachable (no route), timeout (a listener that never sends a banner), auth,
host_key_unknown (and --accept-new-host-keys), host_key_mismatch; and the CLI's exit codes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sshd_daemon import Daemon, free_port, start_sshd
from typer.testing import CliRunner

from discovery.collect import probe_host
from discovery.errors import ConnectTimeout
from discovery.transport import KnownHostsFile, ParamikoTransport, SshOptions, SshTarget
from orchestrator.cli import app
from orchestrator.discover import discover
from orchestrator.store import Store
from orchestrator.workspace import init_workspace

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/usr/sbin/sshd").exists() or os.geteuid() != 0, reason="needs root and sshd"),
]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    daemon = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield daemon
    daemon.stop()


def _options(accept_new: bool = False, timeout: float = 5.0) -> SshOptions:
    return SshOptions(accept_new_host_keys=accept_new, timeout=timeout, deadline=max(4 * timeout, 8))


def test_probe_local_sshd_collects_facts(sshd: Daemon) -> None:
    known = KnownHostsFile(sshd.known_hosts)
    other = ParamikoTransport.connect(sshd.target(), _options(), known)  # a second, unrelated session
    try:
        facts = probe_host(sshd.target(), _options(), known)
        other_end = other.local_endpoint
    finally:
        other.close()
    assert facts.reachable, facts.errors
    assert facts.os is not None and facts.os.id == "debian"
    assert facts.cpu is not None and facts.cpu.count == os.cpu_count()
    assert facts.memory_mb and facts.memory_mb > 100
    assert any(lst.port == sshd.port and lst.process == "sshd" for lst in facts.listening)
    mine = [c for c in facts.connections if c.local_port == sshd.port]
    # the other session shows as inbound; the probing session itself is left out
    assert [(c.remote_address, c.remote_port, c.direction) for c in mine] == [(*other_end, "inbound")]
    assert facts.completeness["os"] == "complete"


def test_transport_runs_commands_with_exit_status(sshd: Daemon) -> None:
    transport = ParamikoTransport.connect(sshd.target(), _options(), KnownHostsFile(sshd.known_hosts))
    try:
        result = transport.run("echo out; echo err >&2; exit 7")
    finally:
        transport.close()
    assert (result.exit_status, result.stdout, result.stderr) == (7, "out\n", "err\n")


def test_refused(sshd: Daemon) -> None:
    facts = probe_host(sshd.target(port=free_port()), _options(), KnownHostsFile(sshd.known_hosts))
    assert not facts.reachable
    assert facts.errors[0].category == "refused"
    assert facts.errors[0].hint


def test_no_route_is_unreachable_not_refused(sshd: Daemon) -> None:
    """An address the kernel has no route to (as when nothing answers ARP) fails fast as ``unreachable``."""
    address = "192.0.2.77"  # TEST-NET-1: never routed
    subprocess.run(["ip", "route", "add", "unreachable", f"{address}/32"], check=True)
    try:
        started = time.monotonic()
        target = replace(sshd.target(), address=address)
        facts = probe_host(target, replace(_options(), retries=1, backoff=0.05), KnownHostsFile(sshd.known_hosts))
        elapsed = time.monotonic() - started
    finally:
        subprocess.run(["ip", "route", "del", "unreachable", f"{address}/32"], check=False)
    assert not facts.reachable
    assert facts.errors[0].category == "unreachable", facts.errors[0]
    assert "no route to 192.0.2.77:" in facts.errors[0].message and "ansible_host" in facts.errors[0].hint
    assert elapsed < 5.0  # no timeout waited for: the kernel answers at once


def test_silent_listener_times_out_within_deadline(sshd: Daemon) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        facts = probe_host(sshd.target(port=listener.getsockname()[1]), _options(timeout=1.5),
                           KnownHostsFile(sshd.known_hosts))
    finally:
        for sock in accepted:
            sock.close()
        listener.close()
    assert facts.errors[0].category == "timeout"
    assert time.monotonic() - started < 10


def test_wrong_client_key_is_auth(sshd: Daemon) -> None:
    facts = probe_host(sshd.target(key=sshd.bad_key), _options(), KnownHostsFile(sshd.known_hosts))
    assert facts.errors[0].category == "auth"


def test_unknown_host_key_fails_then_accept_new_records_it(sshd: Daemon, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    facts = probe_host(sshd.target(), _options(), KnownHostsFile(empty))
    assert facts.errors[0].category == "host_key_unknown"
    assert not empty.exists()
    accepted = probe_host(sshd.target(), _options(accept_new=True), KnownHostsFile(empty))
    assert accepted.reachable
    assert sshd.host_pub.read_text().split()[1] in empty.read_text()
    again = probe_host(sshd.target(), _options(), KnownHostsFile(empty))
    assert again.reachable


def test_changed_host_key_is_mismatch_even_with_accept_new(sshd: Daemon, tmp_path: Path) -> None:
    other_pub = sshd.bad_key.with_suffix(".pub").read_text().split()
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[127.0.0.1]:{sshd.port} {other_pub[0]} {other_pub[1]}\n")
    before = wrong.read_text()
    facts = probe_host(sshd.target(), _options(accept_new=True), KnownHostsFile(wrong))
    assert facts.errors[0].category == "host_key_mismatch"
    assert wrong.read_text() == before


def test_hashed_known_hosts_entry_is_honoured(sshd: Daemon, tmp_path: Path) -> None:
    hashed = tmp_path / "known_hosts"
    shutil.copy(sshd.known_hosts, hashed)
    subprocess.run(["ssh-keygen", "-H", "-f", str(hashed)], check=True, capture_output=True)
    assert hashed.read_text().startswith("|1|")
    facts = probe_host(sshd.target(), _options(), KnownHostsFile(hashed))
    assert facts.reachable, facts.errors


def _inventory(path: Path, sshd: Daemon, extra_hosts: str = "") -> Path:
    path.write_text(
        "all:\n  vars:\n    ansible_user: root\n"
        f"    ansible_ssh_private_key_file: {sshd.good_key}\n"
        f"    ansible_ssh_common_args: -o UserKnownHostsFile={sshd.known_hosts}\n"
        "  children:\n    web:\n      hosts:\n"
        f"        web[01:03]:\n          ansible_host: 127.0.0.1\n          ansible_port: {sshd.port}\n"
        + extra_hosts)
    return path


def test_discover_stores_one_snapshot_with_failed_hosts(sshd: Daemon, tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    dead = f"    down:\n      hosts:\n        dead-01:\n          ansible_host: 127.0.0.1\n" \
           f"          ansible_port: {free_port()}\n"
    inventory = _inventory(tmp_path / "hosts.yml", sshd, dead)
    seen: list[str] = []
    result = discover(ws, inventory, forks=4, timeout=5, progress_callback=lambda f: seen.append(f.name))
    assert sorted(seen) == ["dead-01", "web01", "web02", "web03"]
    assert [f.name for f in result.failed] == ["dead-01"]
    with Store.open(ws.db_path) as store:
        stored = store.snapshot_facts(result.snapshot_id)
    assert len(stored) == 4 and sum(f.reachable for f in stored) == 3


def test_cli_exit_codes_and_json(sshd: Daemon, tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    inventory = _inventory(tmp_path / "hosts.yml", sshd)
    runner = CliRunner()
    ok = runner.invoke(app, ["-w", str(ws.root), "discover", "-i", str(inventory), "--json"])
    assert ok.exit_code == 0, ok.output
    document = json.loads(ok.stdout)
    assert document["failed"] == [] and len(document["hosts"]) == 3
    limited = runner.invoke(app, ["-w", str(ws.root), "discover", "-i", str(inventory), "--limit", "web02",
                                  "--known-hosts", str(tmp_path / "empty_known_hosts")])
    assert limited.exit_code == 3
    none = runner.invoke(app, ["-w", str(ws.root), "discover", "-i", str(inventory), "--limit", "nope"])
    assert none.exit_code == 1
    with Store.open(ws.db_path) as store:
        assert len(store.snapshots()) == 2
    export = runner.invoke(app, ["-w", str(ws.root), "inventory", "export", "--format", "json"])
    exported = json.loads(export.stdout)
    assert exported["schema_version"] == 1
    assert {h["name"] for h in exported["hosts"]} == {"web01", "web02", "web03"}
    assert all(h["reachable"] for h in exported["hosts"])


def test_watchdog_enforces_the_outside_deadline(sshd: Daemon) -> None:
    options = SshOptions(timeout=30, deadline=2)
    transport = ParamikoTransport.connect(sshd.target(), options, KnownHostsFile(sshd.known_hosts))
    started = time.monotonic()
    try:
        with pytest.raises(ConnectTimeout, match="deadline"):
            transport.run("sleep 20")
    finally:
        transport.close()
    assert time.monotonic() - started < 6


def test_unresolvable_name_is_dns(sshd: Daemon) -> None:
    target = SshTarget(name="ghost", address="no-such-host.invalid", port=22, user="root")
    facts = probe_host(target, _options(), KnownHostsFile(sshd.known_hosts))
    assert facts.errors[0].category == "dns"


def test_accept_new_from_many_threads_appends_each_key_once(sshd: Daemon, tmp_path: Path) -> None:
    known_file = tmp_path / "known_hosts"
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"[web]\nweb[01:08] ansible_host=127.0.0.1 ansible_port={sshd.port} ansible_user=root "
                         f"ansible_ssh_private_key_file={sshd.good_key}\n")
    ws = init_workspace(tmp_path / "ws")
    result = discover(ws, inventory, forks=8, known_hosts=known_file, accept_new=True, timeout=5)
    assert not result.failed
    lines = known_file.read_text().splitlines()
    assert len(lines) == 1 and all(line.startswith(f"[127.0.0.1]:{sshd.port} ") for line in lines)
    again = discover(ws, inventory, forks=8, known_hosts=known_file, timeout=5)
    assert not again.failed
    assert known_file.read_text().splitlines() == lines


def test_workspace_known_hosts_is_the_default(sshd: Daemon, tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"h1 ansible_host=127.0.0.1 ansible_port={sshd.port} ansible_user=root "
                         f"ansible_ssh_private_key_file={sshd.good_key}\n")
    ws = init_workspace(tmp_path / "ws")
    assert discover(ws, inventory, timeout=5).failed[0].errors[0].category == "host_key_unknown"
    shutil.copy(sshd.known_hosts, ws.known_hosts)
    assert not discover(ws, inventory, timeout=5).failed
