"""Bastion chains (``ProxyJump a,b``) and typed passwords against real sshd daemons: a target reached
through two bastions, a changed or unknown host key on the middle hop named in the failure, the host
deadline covering the whole chain, nothing left open after a failure; a local user logging in with a
password (right and wrong), and ``pindah discover --ask-pass`` typed on a pseudo-terminal, the password
found nowhere in the workspace or the output."""

from __future__ import annotations

import json
import os
import pty
import secrets
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from sshd_daemon import Daemon, free_port, start_sshd

from discovery.collect import probe_host
from discovery.transport import Credential, Jump, KnownHostsFile, ParamikoTransport, Secret, SshOptions, SshTarget
from orchestrator.workspace import init_workspace

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/usr/sbin/sshd").exists() or os.geteuid() != 0, reason="needs root and sshd"),
]


def _options(**kw: object) -> SshOptions:
    return SshOptions(**{"timeout": 20.0, "deadline": 120.0, "retries": 0, **kw})  # type: ignore[arg-type]


def _sockets() -> int:
    """Sockets this process has open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:  # the listing's own descriptor, already closed
            continue
    return count


def _transport_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if isinstance(t, paramiko.Transport) and t.is_alive()]


def _nothing_left_open(sockets_before: int) -> None:
    """Every session of a failed chain closed: no paramiko thread alive, no socket left (waits for the
    threads to notice their socket closed, which is asynchronous)."""
    for _ in range(200):
        if not _transport_threads() and _sockets() <= sockets_before:
            return
        time.sleep(0.05)
    assert _transport_threads() == [] and _sockets() <= sockets_before


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Daemon, Daemon]]:
    """Two bastions and a target, each its own sshd with its own host key; one client key logs in to all."""
    base = tmp_path_factory.mktemp("hops")
    daemons = tuple(start_sshd(base / name) for name in ("outer", "middle", "target"))
    key = daemons[2].good_key
    for daemon in daemons[:2]:
        shutil.copy(key.with_suffix(".pub"), daemon.folder / "authorized_keys")
    yield daemons  # type: ignore[misc]
    for daemon in daemons:
        daemon.stop()


def _known(chain: tuple[Daemon, ...], path: Path) -> Path:
    path.write_text("".join(d.known_hosts.read_text() for d in chain))
    return path


def _through(chain: tuple[Daemon, Daemon, Daemon], port: int | None = None) -> SshTarget:
    outer, middle, target = chain
    return SshTarget("deep", "127.0.0.1", port or target.port, user="root", key_file=target.good_key,
                     jumps=(Jump("127.0.0.1", outer.port, "root"), Jump("127.0.0.1", middle.port, "root")))


def test_two_bastions_reach_the_target_with_every_host_key_verified(chain: tuple[Daemon, Daemon, Daemon],
                                                                   tmp_path: Path) -> None:
    known = _known(chain, tmp_path / "known_hosts")
    transport = ParamikoTransport.connect(_through(chain), _options(), KnownHostsFile(known))
    try:
        # the target's own host key answered: the session ended on the third daemon
        assert transport.run("echo reached").stdout.strip() == "reached"
    finally:
        transport.close()
    facts = probe_host(_through(chain), _options(), KnownHostsFile(known))
    assert facts.reachable and facts.os is not None, facts.errors
    empty = tmp_path / "new_known_hosts"
    accepted = probe_host(_through(chain), _options(accept_new_host_keys=True), KnownHostsFile(empty))
    assert accepted.reachable, accepted.errors
    assert sorted(empty.read_text().splitlines()) == sorted(_known(chain, tmp_path / "all").read_text().splitlines())


def test_a_changed_key_on_the_middle_hop_is_a_mismatch_naming_that_hop(chain: tuple[Daemon, Daemon, Daemon],
                                                                     tmp_path: Path) -> None:
    outer, middle, target = chain
    forged = tmp_path / "known_hosts"
    key_type, key_b64 = target.host_pub.read_text().split()[:2]  # the middle hop's entry holds another key
    forged.write_text(outer.known_hosts.read_text() + f"[127.0.0.1]:{middle.port} {key_type} {key_b64}\n"
                      + target.known_hosts.read_text())
    before = forged.read_text()
    sockets = _sockets()
    for accept_new in (False, True):  # a changed key is never accepted
        facts = probe_host(_through(chain), _options(accept_new_host_keys=accept_new), KnownHostsFile(forged))
        error = facts.errors[0]
        assert error.category == "host_key_mismatch", facts.errors
        assert f"bastion 2 of 2 (127.0.0.1:{middle.port})" in error.message and "CHANGED" in error.message
    assert forged.read_text() == before
    _nothing_left_open(sockets)


def test_an_unknown_middle_hop_is_named_and_accepted_only_when_asked(chain: tuple[Daemon, Daemon, Daemon],
                                                                   tmp_path: Path) -> None:
    outer, middle, target = chain
    known = tmp_path / "known_hosts"
    known.write_text(outer.known_hosts.read_text() + target.known_hosts.read_text())
    facts = probe_host(_through(chain), _options(), KnownHostsFile(known))
    assert facts.errors[0].category == "host_key_unknown"
    assert f"bastion 2 of 2 (127.0.0.1:{middle.port})" in facts.errors[0].message
    assert probe_host(_through(chain), _options(accept_new_host_keys=True), KnownHostsFile(known)).reachable
    assert middle.known_hosts.read_text() in known.read_text()


def test_a_hop_that_cannot_reach_the_next_is_refused_naming_it(chain: tuple[Daemon, Daemon, Daemon],
                                                             tmp_path: Path) -> None:
    known = _known(chain, tmp_path / "known_hosts")
    sockets = _sockets()
    closed = free_port()
    facts = probe_host(_through(chain, port=closed), _options(), KnownHostsFile(known))
    assert facts.errors[0].category == "refused"
    assert f"bastion 2 of 2 (127.0.0.1:{chain[1].port}) could not open a channel to 127.0.0.1:{closed}" \
        in facts.errors[0].message
    _nothing_left_open(sockets)


def test_a_refused_login_on_the_middle_hop_is_auth_naming_it(chain: tuple[Daemon, Daemon, Daemon],
                                                             tmp_path: Path) -> None:
    outer, middle, target = chain
    known = _known(chain, tmp_path / "known_hosts")
    sockets = _sockets()
    locked = SshTarget("deep", "127.0.0.1", target.port, user="root", key_file=target.good_key,
                       jumps=(Jump("127.0.0.1", outer.port, "root"), Jump("127.0.0.1", middle.port, "nobody")))
    facts = probe_host(locked, _options(), KnownHostsFile(known))
    assert facts.errors[0].category == "auth"
    assert f"bastion 2 of 2 (127.0.0.1:{middle.port})" in facts.errors[0].message, facts.errors
    _nothing_left_open(sockets)


def test_the_host_deadline_covers_the_whole_chain(chain: tuple[Daemon, Daemon, Daemon], tmp_path: Path) -> None:
    # the second "bastion" accepts TCP and never speaks: only the host deadline ends the wait
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    outer, _, target = chain
    known = _known(chain, tmp_path / "known_hosts")
    sockets = _sockets()
    hung = SshTarget("deep", "127.0.0.1", target.port, user="root", key_file=target.good_key,
                     jumps=(Jump("127.0.0.1", outer.port, "root"), Jump("127.0.0.1", silent.getsockname()[1])))
    try:
        facts = probe_host(hung, _options(timeout=120.0, deadline=2.0), KnownHostsFile(known))
    finally:
        silent.close()
    assert facts.errors[0].category == "timeout" and "deadline" in facts.errors[0].message, facts.errors
    _nothing_left_open(sockets)


# --- passwords -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def password_user() -> Iterator[tuple[str, str]]:
    """A throwaway local user with a random password (shadow entry), removed afterwards."""
    name = f"pindahpw{secrets.token_hex(3)}"
    password = f"Pw-{secrets.token_urlsafe(12)}"
    subprocess.run(["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/sh", name],
                   check=True)
    try:
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n".encode(), check=True)
        yield name, password
    finally:
        subprocess.run(["userdel", name], check=False)


@pytest.fixture(scope="module")
def password_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    started = start_sshd(tmp_path_factory.mktemp("pw"), password_auth=True)
    yield started
    started.stop()


def test_a_password_logs_in_and_a_wrong_one_is_auth(password_sshd: Daemon, password_user: tuple[str, str]) -> None:
    user, password = password_user
    known = KnownHostsFile(password_sshd.known_hosts)
    target = SshTarget("pw", "127.0.0.1", password_sshd.port, user=user,
                       credentials=(Credential(password=Secret(password), label="--ask-pass"),))
    transport = ParamikoTransport.connect(target, _options(), known)
    try:
        assert transport.run("id -un").stdout.strip() == user
    finally:
        transport.close()
    wrong = SshTarget("pw", "127.0.0.1", password_sshd.port, user=user,
                      credentials=(Credential(password=Secret(password + "x"), label="--ask-pass"),))
    facts = probe_host(wrong, _options(), known)
    assert facts.errors[0].category == "auth" and "--ask-pass" in facts.errors[0].message
    assert password not in facts.model_dump_json()


def _pindah_on_a_terminal(args: list[str], answer: str, stdout_file: Path) -> tuple[int, bytes]:
    """Run pindah with a pseudo-terminal as its controlling terminal (stdout to a file), type ``answer`` at
    the password prompt; the exit code and everything the terminal showed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout to the file, the terminal stays stdin/stderr and /dev/tty
        out = os.open(stdout_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.execv(sys.executable, [sys.executable, "-c", "from orchestrator.cli import main; main()", *args])
    shown, typed = b"", False
    while True:
        ready, _, _ = select.select([fd], [], [], 120)
        if not ready:
            os.kill(pid, 9)
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        if not typed and b"password" in shown.lower():
            os.write(fd, answer.encode() + b"\n")
            typed = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown


def test_ask_pass_typed_on_a_terminal_discovers_and_is_kept_nowhere(password_sshd: Daemon,
                                                                   password_user: tuple[str, str],
                                                                   tmp_path: Path) -> None:
    user, password = password_user
    ws = init_workspace(tmp_path / "ws")
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(f"all:\n  hosts:\n    pw:\n      ansible_host: 127.0.0.1\n"
                         f"      ansible_port: {password_sshd.port}\n      ansible_user: {user}\n"
                         f"      ansible_ssh_common_args: -o UserKnownHostsFile={password_sshd.known_hosts}\n")
    out = tmp_path / "out.json"
    code, shown = _pindah_on_a_terminal(["-w", str(ws.root), "discover", "-i", str(inventory), "--ask-pass",
                                         "--json"], password, out)
    assert code == 0, shown.decode(errors="replace")
    assert b"SSH password (--ask-pass)" in shown
    result = json.loads(out.read_text())
    assert [h["name"] for h in result["hosts"] if h["reachable"]] == ["pw"]
    assert password.encode() not in shown + out.read_bytes()  # not echoed, not printed
    for path in ws.root.rglob("*"):  # the database (and its journal), logs, known_hosts: anything written
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    # the same inventory without a terminal: refused before probing, nothing stored
    refused = subprocess.run([sys.executable, "-c", "from orchestrator.cli import main; main()", "-w",
                              str(ws.root), "discover", "-i", str(inventory), "--ask-pass"],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
                             start_new_session=True)
    assert refused.returncode == 1 and "no terminal" in refused.stderr and "password_env" in refused.stderr
