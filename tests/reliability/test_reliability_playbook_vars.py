"""Hostile values in the host vars the playbooks get: a data dir, the SSH key file and the known_hosts file
whose paths carry ``$(touch ...)``, backticks, ``;``, quotes and spaces, through the real shipped
``replicate`` playbook (real ansible-runner, ansible-playbook, ssh and rsync) against a throwaway sshd
that plays both the source and the target. Nothing may be created by a payload; the oddly named
directory must arrive in the staging area under its literal name.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import kill_tree, needs_root_sshd
from sshd_daemon import Daemon, start_sshd

from orchestrator.inventory import load_inventory
from orchestrator.runner.hostvars import wave_extravars, wave_hostvars
from orchestrator.runner.playbook import AnsibleRunnerPlaybooks, PhaseRequest
from orchestrator.runner.shipped import playbooks_dir
from orchestrator.runner.states import Phase
from orchestrator.runner.targets import specs_for_servers

pytestmark = pytest.mark.integration  # real sshd, ansible-runner, rsync; needs root
AREA = "hostile facts"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    reason = needs_root_sshd()
    if reason or shutil.which("rsync") is None:
        pytest.skip(reason or "rsync is not installed")
    daemon = start_sshd(tmp_path_factory.mktemp("vars-sshd"))
    try:
        yield daemon
    finally:
        kill_tree(daemon.proc.pid)
        daemon.stop()


@pytest.mark.fault(AREA, "host vars of the real replicate playbook (ansible-runner, ssh, rsync to a real sshd): a "
                   "data dir with $(touch), backticks, ;, both quotes and spaces; the SSH key path with $(touch), "
                   "backticks, ; and spaces; the known_hosts path with $(), backticks, ;, |, &, <, >, *, ?",
                   "the phase succeeds; no payload ran (marker files absent); the directory arrives in staging "
                   "under its literal name with its file")
def test_hostile_paths_never_reach_a_shell(sshd: Daemon, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    evil = f"$(touch {marks}/a)`touch {marks}/b`;touch {marks}/c;'\"x y"
    data_dir = tmp_path / "src" / f"data {evil}"
    data_dir.mkdir(parents=True)
    (data_dir / "payload.txt").write_text("moved intact\n")
    # ssh's -o parser (Ansible passes IdentityFile="...") cannot take a double quote: the key path has the rest
    key_dir = tmp_path / f"keys $(touch {marks}/k)`touch {marks}/l`;touch {marks}/m"
    key_dir.mkdir(parents=True)
    key = key_dir / "id_ed25519"
    shutil.copy(sshd.good_key, key)
    key.chmod(0o600)
    # OpenSSH reads whitespace in UserKnownHostsFile as a list of files and expands ${VAR} in it (no shell):
    # this path has the other metacharacters
    known_dir = tmp_path / f"kh$(touch)`touch`;|&<>*?{marks.name}"
    known_dir.mkdir(parents=True)
    known = known_dir / "known_hosts"
    shutil.copy(sshd.known_hosts, known)
    inventory = tmp_path / "hosts.yml"
    import yaml

    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"app-01": {
        "ansible_host": "127.0.0.1", "ansible_port": sshd.port, "ansible_user": "root",
        "ansible_ssh_private_key_file": str(key),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={shlex.quote(str(known))}",
        "pindah_data_dirs": [str(data_dir)], "pindah_target_port": sshd.port}}}}))
    hosts = load_inventory(inventory)
    assert hosts[0].known_hosts_file == known
    specs = {s.name: s for s in specs_for_servers(hosts, ["app-01"], source=str(inventory))}
    workdir = tmp_path / "work"
    hostvars = wave_hostvars(specs, {"app-01": {"target": {"address": "127.0.0.1"}}}, workdir, ["app-01"])
    events: list[dict[str, Any]] = []
    result = AnsibleRunnerPlaybooks(playbooks_dir()).run_phase(
        PhaseRequest(Phase.REPLICATE, ("app-01",), hostvars, wave_extravars("p", 1, {}), workdir),
        lambda server, record: events.append(record))
    outcome = result.outcomes["app-01"]
    assert outcome.ok, outcome.error
    assert not list(marks.iterdir()), "a payload in a path ran in a shell"
    staged = workdir / "staging" / "app-01" / str(data_dir).lstrip("/") / "payload.txt"
    assert staged.read_text() == "moved intact\n"
    assert (data_dir / "payload.txt").read_text() == "moved intact\n"  # the target (same host) intact
