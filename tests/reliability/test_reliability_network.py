"""Network faults against real endpoints on 127.0.0.1: every case ends within its timeout, with the right
failure category and a hint.

A real OpenSSH sshd listens on several ports, each with its own misbehaviour (``Match LocalPort`` +
``ForceCommand``): a command that never answers, one that only gets keepalives, very slow output, 3 MiB on
both stdout and stderr, a connection killed mid-command. Raw Python socket servers play the hosts that
misbehave before SSH starts (no banner, garbage banner, a banner then silence, reset on connect).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import kill_tree, needs_root_sshd
from sshd_daemon import Daemon, free_port, start_sshd

from discovery.collect import probe_all, probe_host
from discovery.errors import HINTS, FailureCategory
from discovery.facts import HostFacts
from discovery.transport import HandshakeLimits, KnownHostsFile, ParamikoTransport, SshOptions, SshTarget

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(needs_root_sshd() is not None, reason=str(needs_root_sshd()))]
AREA = "network faults"

# the sshd session process is the nearest ancestor called sshd*: killing it drops the TCP connection
_KILL_SESSION = ("p=$$; while [ \"$p\" -gt 1 ]; do c=$(cat /proc/$p/comm); case $c in sshd*) kill -9 $p; break;; "
                 "esac; p=$(cut -d' ' -f4 /proc/$p/stat); done")
BEHAVIOURS: dict[str, tuple[str, str]] = {
    # name: (ForceCommand script, extra Match settings)
    "stall": ("sleep 20", ""),
    "keepalive": ("sleep 20", "ClientAliveInterval 1\n    ClientAliveCountMax 100\n"),
    "slow": ("i=0; while [ $i -lt 200 ]; do printf .; sleep 0.2; i=$((i+1)); done", ""),
    "big": ("head -c 3145728 /dev/zero | tr '\\000' e >&2; head -c 3145728 /dev/zero | tr '\\000' o; "
            "echo; echo end", ""),
    "drop": ("printf 'partial output'; sleep 0.3; " + _KILL_SESSION + "; sleep 5", ""),
}


@dataclass
class Faulty:
    daemon: Daemon
    ports: dict[str, int]

    def target(self, behaviour: str) -> SshTarget:
        return self.daemon.target(name=f"host-{behaviour}", port=self.ports[behaviour])

    @property
    def known(self) -> KnownHostsFile:
        return KnownHostsFile(self.daemon.known_hosts)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faulty]:
    folder = tmp_path_factory.mktemp("faulty-sshd")
    ports = {name: free_port() for name in BEHAVIOURS}
    extra = "".join(f"ListenAddress 127.0.0.1:{port}\n" for port in ports.values())
    for name, (script, settings) in BEHAVIOURS.items():
        (folder / f"{name}.sh").write_text(script + "\n")
        extra += f"Match LocalPort {ports[name]}\n    ForceCommand /bin/sh {folder / name}.sh\n    {settings}\n"
    daemon = start_sshd(folder, extra_config=extra)
    key_type, key_b64 = daemon.host_pub.read_text().split()[:2]
    with daemon.known_hosts.open("a") as fh:
        for port in ports.values():
            fh.write(f"[127.0.0.1]:{port} {key_type} {key_b64}\n")
    _wait_listening(list(ports.values()))
    try:
        yield Faulty(daemon, ports)
    finally:
        kill_tree(daemon.proc.pid)
        daemon.stop()


def _wait_listening(ports: list[int]) -> None:
    deadline = time.monotonic() + 10
    for port in ports:
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)


def _options(timeout: float, deadline: float | None = None, retries: int = 2) -> SshOptions:
    return SshOptions(timeout=timeout, deadline=deadline or max(4 * timeout, 8), retries=retries, backoff=0.2)


def _probe(target: SshTarget, known: KnownHostsFile, options: SshOptions) -> tuple[HostFacts, float]:
    started = time.monotonic()
    facts = probe_host(target, options, known)
    return facts, time.monotonic() - started


def _failed_with(facts: HostFacts, category: FailureCategory) -> None:
    assert not facts.reachable, "the host should have failed"
    error = facts.errors[0]
    assert error.category == category, (error.category, error.message)
    assert error.hint == HINTS[category]
    assert error.message


# -- before SSH: raw socket servers ---------------------------------------------------------------
class RawServer:
    """A TCP listener on 127.0.0.1 that does ``behaviour(conn)`` to every connection, in threads."""

    def __init__(self, behaviour: Callable[[socket.socket], None]) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.behaviour, self.conns, self.stop = behaviour, list[socket.socket](), threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self.behaviour(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        for conn in self.conns:
            conn.close()
        self.sock.close()


def _silent(conn: socket.socket) -> None:
    time.sleep(30)


def _banner_then_silence(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
    time.sleep(30)


def _garbage(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    conn.close()


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()


RAW_CASES = {
    "accepts and never sends a banner": (_silent, FailureCategory.TIMEOUT),
    "sends a banner, then nothing (stalled key exchange)": (_banner_then_silence, FailureCategory.TIMEOUT),
    "answers HTTP instead of SSH": (_garbage, FailureCategory.PROTOCOL),
    "resets every connection (RST)": (_reset, FailureCategory.PROTOCOL),
}


@pytest.mark.parametrize("case", sorted(RAW_CASES))
@pytest.mark.fault(AREA, "raw TCP servers: accepts and never sends a banner; banner then silence; HTTP instead "
                   "of SSH; RST on every connection",
                   "timeout (the silent ones) or protocol (garbage, reset) with the category's hint; a dead host "
                   "costs at most two timeouts (1.5 s each) plus back-off")
def test_raw_misbehaviour(case: str, tmp_path: Path) -> None:
    behaviour, category = RAW_CASES[case]
    server = RawServer(behaviour)
    try:
        target = SshTarget(name="raw", address="127.0.0.1", port=server.port, user="root")
        facts, elapsed = _probe(target, KnownHostsFile(tmp_path / "known_hosts"), _options(1.5))
    finally:
        server.close()
    _failed_with(facts, category)
    assert elapsed < 2 * 1.5 + 3, f"took {elapsed:.1f}s"


@pytest.mark.fault(AREA, "closed port (nothing listens)",
                   "refused with its hint after the bounded retries, well within one timeout")
def test_closed_port_is_refused(tmp_path: Path) -> None:
    target = SshTarget(name="closed", address="127.0.0.1", port=free_port(), user="root")
    facts, elapsed = _probe(target, KnownHostsFile(tmp_path / "kh"), _options(5.0))
    _failed_with(facts, FailureCategory.REFUSED)
    assert elapsed < 5.0


# -- after SSH: a real sshd misbehaving per port ----------------------------------------------------------
@pytest.mark.parametrize("behaviour", ["stall", "keepalive"])
@pytest.mark.fault(AREA, "real sshd: authenticates, then the command never answers (silent; or only "
                   "ClientAlive keepalives every second)",
                   "timeout with its hint within the 2 s command timeout (keepalives do not keep it alive)")
def test_command_that_never_answers_times_out(behaviour: str, faulty: Faulty) -> None:
    facts, elapsed = _probe(faulty.target(behaviour), faulty.known, _options(2.0, deadline=30))
    _failed_with(facts, FailureCategory.TIMEOUT)
    assert elapsed < 2.0 + 4, f"took {elapsed:.1f}s"


@pytest.mark.fault(AREA, "real sshd: very slow output (one byte every 0.2 s, never a pause as long as the timeout)",
                   "the host deadline (6 s) cuts it: timeout naming the deadline")
def test_very_slow_output_is_cut_by_the_deadline(faulty: Faulty) -> None:
    facts, elapsed = _probe(faulty.target("slow"), faulty.known, _options(2.0, deadline=6))
    _failed_with(facts, FailureCategory.TIMEOUT)
    assert "deadline" in facts.errors[0].message
    assert elapsed < 6 + 3, f"took {elapsed:.1f}s"


@pytest.mark.fault(AREA, "real sshd: 3 MiB on stderr (written first) then 3 MiB on stdout",
                   "both streams read completely and concurrently (no window deadlock) within the timeout")
def test_big_output_on_both_streams(faulty: Faulty) -> None:
    transport = ParamikoTransport.connect(faulty.target("big"), _options(10.0, deadline=30), faulty.known)
    try:
        result = transport.run("ignored: ForceCommand")
    finally:
        transport.close()
    assert result.exit_status == 0
    assert len(result.stderr) == 3 * 1024 * 1024 and set(result.stderr) == {"e"}
    assert result.stdout.endswith("\nend\n") and result.stdout.count("o") == 3 * 1024 * 1024


@pytest.mark.fault(AREA, "real sshd: 3 MiB of output and no probe markers, through the discovery path",
                   "the host fails as command ('printed no markers') with the output tail, not a hang")
def test_big_output_through_probe_is_a_command_failure(faulty: Faulty) -> None:
    facts, _ = _probe(faulty.target("big"), faulty.known, _options(10.0, deadline=30))
    _failed_with(facts, FailureCategory.COMMAND)


@pytest.mark.fault(AREA, "real sshd: connection killed mid-command (the session process gets SIGKILL after "
                   "partial output)",
                   "protocol ('closed before the command finished') with its hint, never taken as output")
def test_connection_dropped_mid_command(faulty: Faulty) -> None:
    facts, elapsed = _probe(faulty.target("drop"), faulty.known, _options(5.0, deadline=20))
    _failed_with(facts, FailureCategory.PROTOCOL)
    assert elapsed < 5.0 + 3


# -- MaxStartups throttling -------------------------------------------------------------------------
@pytest.fixture
def throttled(tmp_path: Path) -> Iterator[Daemon]:
    """A fresh daemon per test: dropped half-open connections of one test must not throttle the next."""
    daemon = start_sshd(tmp_path / "throttled", max_startups="1:100:1")
    try:
        yield daemon
    finally:
        kill_tree(daemon.proc.pid)
        daemon.stop()


def _swarm(daemon: Daemon, count: int, per_sshd: int, retries: int) -> tuple[list[HostFacts], float]:
    targets = [(daemon.target(name=f"swarm-{i:02d}"), KnownHostsFile(daemon.known_hosts)) for i in range(count)]
    options = SshOptions(timeout=5.0, deadline=20.0, retries=retries,
                         limits=HandshakeLimits(per_sshd=per_sshd, per_bastion=per_sshd))
    started = time.monotonic()
    facts = probe_all(targets, options, forks=count)
    return facts, time.monotonic() - started


@pytest.mark.fault(AREA, "real sshd with MaxStartups 1:100:1, 12 parallel discoveries, no handshake limit, "
                   "no retries",
                   "every host ends within its deadline; the dropped ones fail as protocol/refused/timeout "
                   "(transient categories) with a hint, never auth or host key", trials=12)
def test_maxstartups_drops_are_transient_failures(throttled: Daemon) -> None:
    facts, elapsed = _swarm(throttled, 12, per_sshd=0, retries=0)
    failed = [f for f in facts if not f.reachable]
    assert failed, "MaxStartups 1:100:1 should have dropped some of 12 simultaneous handshakes"
    for item in failed:
        assert item.errors[0].category in {"protocol", "refused", "timeout"}, item.errors[0]
        assert item.errors[0].hint
    assert elapsed < 20.0 + 5


@pytest.mark.fault(AREA, "the same throttled sshd, 12 parallel discoveries with --max-handshakes 1 and the "
                   "default 2 retries",
                   "every host ends within its deadline; at least half are discovered and the rest fail as "
                   "protocol with the MaxStartups hint (sshd frees a startup slot asynchronously, so on a loaded "
                   "machine even one handshake at a time is sometimes dropped)", trials=12)
def test_handshake_limit_with_retries_under_maxstartups(throttled: Daemon) -> None:
    facts, elapsed = _swarm(throttled, 12, per_sshd=1, retries=2)
    reached = [f for f in facts if f.reachable]
    assert len(reached) >= 6, [f.errors for f in facts if not f.reachable]
    for item in facts:
        if not item.reachable:
            assert item.errors[0].category == "protocol" and "MaxStartups" in item.errors[0].message
            assert item.errors[0].hint
    assert elapsed < 12 * 20.0
