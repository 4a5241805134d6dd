"""Secrets: canary passwords, private key content and cloud credentials configured in a test run never
appear in logs, events, the store (the SQLite file's bytes, WAL included), plans, reports, exports or
exception messages.

A real sshd; the inventory gives one host a good key, one a password read from an environment variable
(the server refuses passwords, so the failure message is exercised), and Ansible's password variables as
canaries; AWS credentials sit in the environment. Every command's output, every log record and every file
in the workspace is then searched for every canary.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import CliResult, kill_tree, needs_root_sshd
from sshd_daemon import Daemon, start_sshd

Pindah = Callable[..., CliResult]
pytestmark = pytest.mark.integration  # real sshd / ansible-runner; needs root
AREA = "secrets"
CANARIES = {
    "PINDAH_TEST_PASSWORD": "canary-password-7Hq2xZ",
    "AWS_ACCESS_KEY_ID": "AKIACANARY4JX7TQ2ZPL",
    "AWS_SECRET_ACCESS_KEY": "canary-aws-secret-9vLrT3mWq8sKd2PzYx5N",
    "AWS_SESSION_TOKEN": "canary-session-token-F3kP0qZ",
}
INVENTORY_CANARIES = {"ansible_password": "canary-ansible-pass-Q1", "ansible_become_password": "canary-become-W2",
                      "vault_api_token": "canary-vault-token-E3", "ansible_ssh_pass": "canary-ssh-pass-R4"}


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    reason = needs_root_sshd()
    if reason:
        pytest.skip(reason)
    daemon = start_sshd(tmp_path_factory.mktemp("secrets-sshd"))
    try:
        yield daemon
    finally:
        kill_tree(daemon.proc.pid)
        daemon.stop()


def _key_fragments(key_file: Path) -> list[bytes]:
    """The private key's body lines and its decoded key bytes: none may be copied anywhere."""
    lines = [line for line in key_file.read_text().splitlines() if line and not line.startswith("-----")]
    raw = base64.b64decode("".join(lines))
    return [line.encode() for line in lines] + [raw[i:i + 24] for i in range(0, len(raw) - 24, 24)]


@pytest.mark.fault(AREA, "canary SSH password (via password_env), Ansible password/become/vault variables in "
                   "the inventory, AWS key id/secret/session token in the environment, and the private key "
                   "file's content, through discover (one host failing auth with the password), inventory "
                   "list/export, plan create/show, report and status",
                   "no canary and no fragment of the key in any command output, log record, workspace file "
                   "(store and WAL bytes, plans, report, export); the auth failure names the variable, not "
                   "its value", trials=8)
def test_no_secret_leaks_anywhere(sshd: Daemon, tmp_path: Path, pindah: Pindah, monkeypatch: pytest.MonkeyPatch,
                                  caplog: pytest.LogCaptureFixture) -> None:
    from orchestrator.workspace import init_workspace

    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    ws = init_workspace(tmp_path / "ws")
    secret_vars = "".join(f"      {k}: {v}\n" for k, v in INVENTORY_CANARIES.items())
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n"
        f"    app-01:\n      ansible_host: 127.0.0.1\n      ansible_port: {sshd.port}\n      ansible_user: root\n"
        f"      ansible_ssh_private_key_file: {sshd.good_key}\n{secret_vars}"
        f"    pw-01:\n      ansible_host: 127.0.0.1\n      ansible_port: {sshd.port}\n"
        "      pindah_credentials: [{user: root, password_env: PINDAH_TEST_PASSWORD}]\n" + secret_vars)
    outputs = []
    base = ["--workspace", str(ws.root)]
    for args in (["discover", "-i", str(inventory), "--known-hosts", str(sshd.known_hosts)],
                 ["discover", "-i", str(inventory), "--known-hosts", str(sshd.known_hosts), "--json"],
                 ["inventory", "list"], ["inventory", "export", "-o", str(ws.root / "export.json")],
                 ["plan", "create", "--id", "secrets"], ["plan", "show", "secrets"],
                 ["report", "-o", str(ws.root / "report.md")], ["status", "--json"]):
        result = pindah(*base, *args)
        assert result.exit_code in (0, 3), (args, result.output)
        outputs.append(result.output)
    text = "\n".join(outputs)
    assert "pw-01" in text and "auth" in text and "PINDAH_TEST_PASSWORD" in text  # the failure was shown
    blobs = {f"output of {len(outputs)} commands": text.encode(), "log records": caplog.text.encode()}
    blobs |= {str(p.relative_to(ws.root)): p.read_bytes() for p in ws.root.rglob("*") if p.is_file()}
    assert any(name.startswith(".pindah/state.db") for name in blobs)
    needles = [v.encode() for v in (*CANARIES.values(), *INVENTORY_CANARIES.values())]
    needles += _key_fragments(sshd.good_key)
    leaks = [(where, needle[:12]) for where, blob in blobs.items() for needle in needles if needle in blob]
    assert not leaks, f"secrets found: {leaks}"
