"""Trust: a changed host key is refused, never auto-accepted, by discovery (even with
--accept-new-host-keys) and by the OpenSSH options the playbooks and rsync use. known_hosts is not touched.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import CliResult, kill_tree, needs_root_sshd
from sshd_daemon import Daemon, keygen, start_sshd

from orchestrator.runner.targets import ssh_options

Pindah = Callable[..., CliResult]
pytestmark = pytest.mark.integration  # real sshd / ansible-runner; needs root
AREA = "trust: host keys"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    reason = needs_root_sshd()
    if reason:
        pytest.skip(reason)
    daemon = start_sshd(tmp_path_factory.mktemp("hostkey-sshd"))
    try:
        yield daemon
    finally:
        kill_tree(daemon.proc.pid)
        daemon.stop()


@pytest.fixture
def changed_known_hosts(sshd: Daemon, tmp_path: Path) -> Path:
    """A known_hosts that records ANOTHER key for the daemon's address: the host key 'changed'."""
    keygen(tmp_path / "impostor")
    key_type, key_b64 = (tmp_path / "impostor.pub").read_text().split()[:2]
    path = tmp_path / "known_hosts"
    path.write_text(f"[127.0.0.1]:{sshd.port} {key_type} {key_b64}\n")
    return path


@pytest.mark.parametrize("accept_new", [False, True])
@pytest.mark.fault(AREA, "changed host key at discovery, with and without --accept-new-host-keys",
                   "host fails as host_key_mismatch with its hint (exit 3); known_hosts byte-identical; no "
                   "facts stored for the host")
def test_changed_key_refused_by_discovery(accept_new: bool, sshd: Daemon, changed_known_hosts: Path,
                                          tmp_path: Path, pindah: Pindah) -> None:
    from orchestrator.store import Store
    from orchestrator.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"app-01 ansible_host=127.0.0.1 ansible_port={sshd.port} ansible_user=root "
                         f"ansible_ssh_private_key_file={sshd.good_key}\n")
    before = changed_known_hosts.read_bytes()
    args = ["--workspace", str(ws.root), "discover", "-i", str(inventory), "--known-hosts", str(changed_known_hosts)]
    result = pindah(*args, *(["--accept-new-host-keys"] if accept_new else []))
    assert result.exit_code == 3, result.output
    assert "host_key_mismatch" in result.output and "CHANGED" in result.output
    assert "verify the host out of band" in result.output  # the hint
    assert changed_known_hosts.read_bytes() == before
    with Store.open(ws.db_path) as store:
        facts = store.latest_facts()
    assert [(f.name, f.reachable, f.os) for f in facts] == [("app-01", False, None)]


@pytest.mark.parametrize("case", ["changed key", "unknown key (empty known_hosts)"])
@pytest.mark.fault(AREA, "changed or unknown host key for the OpenSSH client the playbooks and rsync use "
                   "(pindah's ssh options, real ssh)",
                   "ssh refuses before authenticating (exit 255); known_hosts not modified")
def test_changed_or_unknown_key_refused_by_run_ssh(case: str, sshd: Daemon, changed_known_hosts: Path,
                                                   tmp_path: Path) -> None:
    known = changed_known_hosts
    if case.startswith("unknown"):
        known = tmp_path / "empty_known_hosts"
        known.write_text("")
    before = known.read_bytes()
    done = subprocess.run(["ssh", "-p", str(sshd.port), *ssh_options(str(sshd.good_key), str(known)),
                           "-o", "ConnectTimeout=5", "root@127.0.0.1", "echo reached"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 255, done
    assert "reached" not in done.stdout
    assert "Host key verification failed" in done.stderr
    assert known.read_bytes() == before


@pytest.mark.fault(AREA, "matching host key for the same ssh options",
                   "ssh connects (the refusals above are about the key, not a broken command)")
def test_matching_key_connects(sshd: Daemon) -> None:
    done = subprocess.run(["ssh", "-p", str(sshd.port), *ssh_options(str(sshd.good_key), str(sshd.known_hosts)),
                           "-o", "ConnectTimeout=5", "root@127.0.0.1", "echo reached"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "reached"
