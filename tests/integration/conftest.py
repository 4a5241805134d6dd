"""The shared lab for integration tests: one session-scoped estate on its own subnet."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest

from orchestrator.errors import LabError
from orchestrator.lab import LabManifest, lab_down, lab_up
from orchestrator.workspace import Workspace, init_workspace

LAB_SUBNET = os.environ.get("PINDAH_TEST_LAB_SUBNET", "10.214.0.0/16")  # first choice; then the next /16s
LAB_HOSTS = 10
LAB_SEED = 11


@dataclass(frozen=True)
class Lab:
    workspace: Workspace
    manifest: LabManifest

    @property
    def state_dir(self) -> Path:
        return self.workspace.lab_dir

    def ssh(self, address: str) -> paramiko.SSHClient:
        """A root SSH session to a lab host, host key checked against the lab's known_hosts."""
        client = paramiko.SSHClient()
        client.load_host_keys(self.manifest.paths.known_hosts)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(address, username="root", key_filename=self.manifest.paths.private_key,
                       look_for_keys=False, allow_agent=False, timeout=10)
        return client


def lab_unavailable() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "the lab needs root"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/usr/sbin/sshd").exists():
        return "openssh-server (/usr/sbin/sshd) is not installed"
    if not Path("/run/netns").exists() and not os.access("/run", os.W_OK):
        return "ip netns unavailable"
    return None


@pytest.fixture
def lab_capable() -> None:
    """Skip unless this machine can run a lab (for tests that build their own)."""
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    ws = init_workspace(tmp_path_factory.mktemp("labws"))
    try:
        yield Lab(ws, _up_on_free_subnet(ws))
    finally:
        lab_down(ws.lab_dir)


def _up_on_free_subnet(ws: Workspace) -> LabManifest:
    """Another test session may hold the first subnet: take the next free /16."""
    first = int(LAB_SUBNET.split(".")[1])
    for second in range(first, first + 12):
        try:
            return lab_up(ws.lab_dir, LAB_HOSTS, seed=LAB_SEED, subnet=f"10.{second}.0.0/16")
        except LabError as exc:
            if "already routed" not in exc.message:
                raise
    raise LabError("no free subnet for the test lab", hint="run 'pindah lab down' in stale workspaces")
