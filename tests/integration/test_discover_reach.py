"""Reaching hosts against real sshd daemons: credential sets in order (key files, SSH agent), a bastion
through ProxyJump (direct-tcpip, both host keys verified), retry after a refused connection, and the
per-sshd handshake limit against a daemon whose MaxStartups drops the excess."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sshd_daemon import Daemon, free_port, start_sshd

from discovery.collect import probe_host
from discovery.transport import (
    Credential,
    HandshakeLimits,
    Jump,
    KnownHostsFile,
    ParamikoTransport,
    SshOptions,
    SshTarget,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/usr/sbin/sshd").exists() or os.geteuid() != 0, reason="needs root and sshd"),
]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    started = start_sshd(tmp_path_factory.mktemp("reach"))
    yield started
    started.stop()


def _options(**kw: object) -> SshOptions:
    # generous: none of these tests waits for a timeout, and a loaded machine can be slow to answer
    return SshOptions(**{"timeout": 15.0, "deadline": 60.0, **kw})  # type: ignore[arg-type]


def _run(target: SshTarget, known: Path, **kw: object) -> str:
    transport = ParamikoTransport.connect(target, _options(**kw), KnownHostsFile(known))
    try:
        return transport.run("echo reached").stdout.strip()
    finally:
        transport.close()


def test_credential_sets_are_tried_in_order(daemon: Daemon) -> None:
    target = SshTarget("h1", "127.0.0.1", daemon.port, user="root", key_file=daemon.bad_key,
                       credentials=(Credential(password_env="PINDAH_TEST_UNSET_PASSWORD"),
                                    Credential(key_file=daemon.good_key)))
    assert _run(target, daemon.known_hosts) == "reached"


def test_every_credential_failing_is_auth_and_names_no_secret(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINDAH_TEST_PASSWORD", "s3cret-value")
    target = SshTarget("h1", "127.0.0.1", daemon.port, user="root", key_file=daemon.bad_key,
                       credentials=(Credential(password_env="PINDAH_TEST_PASSWORD"),))
    facts = probe_host(target, _options(), KnownHostsFile(daemon.known_hosts))
    assert facts.errors[0].category == "auth"
    assert "PINDAH_TEST_PASSWORD" in facts.errors[0].message
    assert "s3cret-value" not in facts.model_dump_json()


def test_ssh_agent_credential(daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", str(daemon.good_key)], env=env, check=True, capture_output=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        target = SshTarget("h1", "127.0.0.1", daemon.port, user="root", key_file=daemon.bad_key,
                           credentials=(Credential(agent=True),))
        assert _run(target, daemon.known_hosts) == "reached"
    finally:
        agent.terminate()
        agent.wait(timeout=5)


def test_through_a_bastion_both_host_keys_verified(daemon: Daemon, tmp_path: Path) -> None:
    # the daemon is its own bastion: the second hop is a direct-tcpip channel from it to itself
    target = SshTarget("inner", "127.0.0.1", daemon.port, user="root", key_file=daemon.good_key,
                       jumps=(Jump(address="127.0.0.1", port=daemon.port, user="root"),))
    assert _run(target, daemon.known_hosts) == "reached"
    facts = probe_host(target, _options(), KnownHostsFile(daemon.known_hosts))
    assert facts.reachable and facts.os is not None, facts.errors
    empty = tmp_path / "known_hosts"
    unknown = probe_host(target, _options(), KnownHostsFile(empty))
    assert unknown.errors[0].category == "host_key_unknown" and "bastion" in unknown.errors[0].message
    probe_host(target, _options(accept_new_host_keys=True), KnownHostsFile(empty))
    assert len(empty.read_text().splitlines()) == 1  # same endpoint for both hops: one key recorded


def test_bastion_that_cannot_reach_the_target_is_refused(daemon: Daemon) -> None:
    target = SshTarget("inner", "127.0.0.1", free_port(), user="root", key_file=daemon.good_key,
                       jumps=(Jump(address="127.0.0.1", port=daemon.port, user="root"),))
    facts = probe_host(target, _options(retries=0), KnownHostsFile(daemon.known_hosts))
    assert facts.errors[0].category == "refused" and "bastion" in facts.errors[0].message


def _forward_later(listen_port: int, to_port: int, delay: float, stop: threading.Event) -> None:
    """After ``delay`` seconds, accept on listen_port and relay each connection to to_port."""
    time.sleep(delay)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen(16)
    server.settimeout(0.2)

    def pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            a.close()
            b.close()

    while not stop.is_set():
        try:
            client, _ = server.accept()
        except TimeoutError:
            continue
        upstream = socket.create_connection(("127.0.0.1", to_port))
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
    server.close()


def test_refused_then_listening_succeeds_thanks_to_retry(daemon: Daemon, tmp_path: Path) -> None:
    port = free_port()
    stop = threading.Event()
    relay = threading.Thread(target=_forward_later, args=(port, daemon.port, 0.3, stop), daemon=True)
    relay.start()
    try:
        target = SshTarget("late", "127.0.0.1", port, user="root", key_file=daemon.good_key)
        known = KnownHostsFile(tmp_path / "known_hosts")
        facts = probe_host(target, _options(accept_new_host_keys=True, retries=4, backoff=0.2), known)
        assert facts.reachable, facts.errors
    finally:
        stop.set()
        relay.join(timeout=5)


def test_handshake_limit_keeps_maxstartups_from_dropping(tmp_path: Path) -> None:
    strict = start_sshd(tmp_path / "strict", max_startups="3:100:3")  # beyond 3 pending handshakes: dropped
    try:
        target = SshTarget("h", "127.0.0.1", strict.port, user="root", key_file=strict.good_key)
        known = KnownHostsFile(strict.known_hosts)

        def attempt(limits: HandshakeLimits, retries: int = 0) -> bool:
            # generous command timeouts: on a loaded machine the probe script itself can be quiet for seconds
            options = _options(retries=retries, backoff=0.2, limits=limits, timeout=20.0, deadline=90.0)
            return probe_host(target, options, known).reachable

        # sshd counts a login as done a moment after the client does, and on a loaded machine that moment
        # grows: the limit keeps drops rare, the bounded retry pindah always has takes care of the rest
        limited = HandshakeLimits(per_sshd=1)
        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(lambda _: attempt(limited, retries=2), range(24)))
        assert all(results)
        with ThreadPoolExecutor(12) as pool:
            unlimited = list(pool.map(lambda _: attempt(HandshakeLimits(per_sshd=0)), range(24)))
        print(f"\nwithout a handshake limit {unlimited.count(False)} of 24 probes were dropped by MaxStartups 3")
    finally:
        strict.proc.terminate()
        strict.proc.wait(timeout=10)
