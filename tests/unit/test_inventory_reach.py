"""Reaching hosts: bastions and credential sets from the inventory, become, retry policy, handshake limits."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from discovery.collect import connect_with_retry
from discovery.errors import AuthFailed, ConnectRefused, ConnectTimeout
from discovery.transport import CommandResult, HandshakeLimits, Jump, KnownHostsFile, SshOptions, SshTarget, Transport
from orchestrator.discover import parse_jump, target_of
from orchestrator.errors import InputError
from orchestrator.inventory import load_inventory, proxy_jump_from_args

INVENTORY = """\
all:
  children:
    dmz:
      vars:
        ansible_user: ops
        ansible_ssh_common_args: '-o ProxyCommand="ssh -W %h:%p -q jumper@bastion.example" -o ServerAliveInterval=5'
        ansible_become: "yes"
        pindah_credentials:
          - {key_file: keys/ops}
          - {user: backup, agent: true}
          - {user: legacy, password_env: LEGACY_SSH_PASSWORD}
      hosts:
        web01: {ansible_host: 10.1.0.1}
    core:
      vars:
        ansible_ssh_common_args: -J admin@[fd00::1]:2222
      hosts:
        db01: {ansible_host: 10.2.0.1, ansible_become: false}
"""


def test_bastion_credentials_and_become_from_the_inventory(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "ops").write_text("not a real key")
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY)
    hosts = {h.name: h for h in load_inventory(path)}
    web, db = target_of(hosts["web01"]), target_of(hosts["db01"])
    assert web.jumps == (Jump(address="bastion.example", port=22, user="jumper"),)
    assert db.jumps == (Jump(address="fd00::1", port=2222, user="admin"),)
    assert (web.become, db.become) == (True, False)
    assert [(c.user, c.key_file, c.agent, c.password_env) for c in web.logins()] == [
        ("ops", tmp_path / "keys" / "ops", False, None), ("backup", None, True, None),
        ("legacy", None, False, "LEGACY_SSH_PASSWORD")]
    assert "LEGACY_SSH_PASSWORD" in web.logins()[2].describe()


@pytest.mark.parametrize(("args", "expected"), [
    ("-J bastion", "bastion"), ("-o ProxyJump=ops@b:2200", "ops@b:2200"), ("-o 'ProxyJump b3'", "b3"),
    ("-o ProxyJump=none", None), ("-o StrictHostKeyChecking=no", None), ("", None),
])
def test_proxy_jump_forms(args: str, expected: str | None) -> None:
    assert proxy_jump_from_args(args) == expected


def test_multi_hop_proxy_jump_is_read_outermost_first(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  hosts:\n    deep:\n      ansible_host: 10.3.0.7\n"
                    "      ansible_ssh_common_args: -o ProxyJump=ops@gw.example,10.0.0.5:2222,[fd00::2]:22\n"
                    "    dash_j: {ansible_ssh_common_args: '-J a,b'}\n")
    hosts = {h.name: h for h in load_inventory(path)}
    assert target_of(hosts["deep"]).jumps == (Jump("gw.example", 22, "ops"), Jump("10.0.0.5", 2222),
                                              Jump("fd00::2", 22))
    assert target_of(hosts["dash_j"]).jumps == (Jump("a"), Jump("b"))


@pytest.mark.parametrize("spec", ["a,,b", "a,", ",b"])
def test_a_malformed_hop_is_an_input_error(spec: str) -> None:
    with pytest.raises(InputError, match="empty or malformed hop") as caught:
        proxy_jump_from_args(f"-J {spec}", "h1", "hosts.yml")
    assert "h1" in str(caught.value)


def test_bad_credentials_list_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  hosts:\n    h1:\n      pindah_credentials:\n        - {user: a, password: x}\n")
    with pytest.raises(InputError, match="unknown pindah_credentials keys"):
        load_inventory(path)


def test_parse_jump() -> None:
    assert parse_jump("h") == Jump(address="h")
    assert parse_jump("u@10.0.0.1:2022") == Jump(address="10.0.0.1", port=2022, user="u")
    assert parse_jump(None) is None


class _Ok:
    def run(self, command: str) -> CommandResult:
        raise AssertionError("not used")

    def close(self) -> None:
        pass


def _flaky(failures: list[Exception]) -> tuple[list[float], object]:
    calls: list[float] = []

    def connector(target: SshTarget, options: SshOptions, known: KnownHostsFile) -> Transport:
        calls.append(time.monotonic())
        if failures:
            raise failures.pop(0)
        return _Ok()
    return calls, connector


def test_quick_transient_failures_are_retried_with_backoff(tmp_path: Path) -> None:
    calls, connector = _flaky([ConnectRefused("refused"), ConnectRefused("refused")])
    options = SshOptions(retries=2, backoff=0.05)
    connect_with_retry(connector, SshTarget("h", "10.0.0.1"), options, KnownHostsFile(tmp_path / "k"))  # type: ignore[arg-type]
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.05 * 0.5 and calls[2] - calls[1] >= 0.05 * 2 * 0.5  # doubling, jitter 0.5-1.5


def test_retries_are_bounded_and_auth_is_never_retried(tmp_path: Path) -> None:
    calls, connector = _flaky([ConnectRefused("r")] * 5)
    with pytest.raises(ConnectRefused):
        connect_with_retry(connector, SshTarget("h", "x"), SshOptions(retries=2, backoff=0.01),  # type: ignore[arg-type]
                           KnownHostsFile(tmp_path / "k"))
    assert len(calls) == 3
    calls, connector = _flaky([AuthFailed("no"), AuthFailed("no")])
    with pytest.raises(AuthFailed):
        connect_with_retry(connector, SshTarget("h", "x"), SshOptions(retries=2, backoff=0.01),  # type: ignore[arg-type]
                           KnownHostsFile(tmp_path / "k"))
    assert len(calls) == 1


def test_a_slow_timeout_is_retried_once_only(tmp_path: Path) -> None:
    def connector(target: SshTarget, options: SshOptions, known: KnownHostsFile) -> Transport:
        calls.append(1)
        time.sleep(0.2)
        raise ConnectTimeout("slow")
    calls: list[int] = []
    with pytest.raises(ConnectTimeout):
        connect_with_retry(connector, SshTarget("h", "x"), SshOptions(timeout=0.2, retries=3, backoff=0.01),
                           KnownHostsFile(tmp_path / "k"))
    assert calls == [1, 1]


def test_handshake_limits_per_sshd_and_per_bastion() -> None:
    limits = HandshakeLimits(per_sshd=2, per_bastion=3)
    lock = threading.Lock()
    now: dict[str, int] = {}
    peak: dict[str, int] = {}
    bastion = Jump(address="b")

    def enter(target: SshTarget, key: str) -> None:
        with limits.hold(target):
            with lock:
                now[key] = now.get(key, 0) + 1
                peak[key] = max(peak.get(key, 0), now[key])
            time.sleep(0.03)
            with lock:
                now[key] -= 1

    threads = [threading.Thread(target=enter, args=(SshTarget(f"a{i}", "10.0.0.1"), "sshd-a")) for i in range(8)]
    threads += [threading.Thread(target=enter, args=(SshTarget(f"j{i}", f"10.9.0.{i}", jumps=(bastion,)), "bastion"))
                for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == {"sshd-a": 2, "bastion": 3}


def test_chains_crossing_bastions_in_opposite_orders_hold_every_slot_without_deadlock() -> None:
    limits = HandshakeLimits(per_sshd=0, per_bastion=1)
    first, second = Jump("b1"), Jump("b2")
    inside: list[int] = []
    most = [0]
    lock = threading.Lock()

    def enter(index: int) -> None:
        chain = (first, second) if index % 2 else (second, first)
        with limits.hold(SshTarget(f"h{index}", f"10.0.0.{index}", jumps=chain)):
            with lock:
                inside.append(index)
                most[0] = max(most[0], len(inside))
            time.sleep(0.01)
            with lock:
                inside.remove(index)

    threads = [threading.Thread(target=enter, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert most == [1]  # one slot per bastion and every chain uses both: one at a time
