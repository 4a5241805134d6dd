"""The one-exec probe script: runs under plain /bin/sh, survives missing tools, splits back per probe."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from discovery.assemble import facts_from_sections
from discovery.probes import disks, script, sockets, system
from discovery.probes.script import Section

SH = Path("/bin/sh")
pytestmark = pytest.mark.skipif(not SH.exists(), reason="needs /bin/sh")


def _run(command: str, path: str | None = None) -> str:
    env = {"PATH": path} if path is not None else dict(os.environ)
    result = subprocess.run([str(SH), "-c", command], capture_output=True, text=True, env=env, timeout=60,
                            check=False)
    return result.stdout


def test_script_output_splits_into_every_probe_with_exit_status() -> None:
    nonce = script.new_nonce()
    out = _run(script.build_script(nonce))
    sections = script.split_output(out, nonce)
    assert set(sections) == set(script.PROBE_COMMANDS)
    assert all(s.exit_status == 0 for s in sections.values())
    facts = facts_from_sections("local", "127.0.0.1", sections)
    assert facts.errors == ()
    assert facts.cpu is not None and facts.cpu.count == os.cpu_count()
    assert facts.os is not None and facts.os.id


def test_wrapped_script_survives_a_quote_in_a_probe() -> None:
    nonce = script.new_nonce()
    wrapped = script.wrap_for_shell(script.build_script(nonce, {"quote": "echo \"it's\""}))
    assert script.split_output(_run(wrapped), nonce)["quote"].text == "it's"


def test_split_output_keeps_a_cut_short_probe_without_status() -> None:
    out = "@@PINDAH:ab:BEGIN:os@@\nline1\n\n@@PINDAH:ab:END:os:0@@\n@@PINDAH:ab:BEGIN:cpu@@\nprocessor : 0\n"
    sections = script.split_output(out, "ab")
    assert sections["os"] == Section("os", 0, "line1")
    assert sections["cpu"].exit_status is None and sections["cpu"].text == "processor : 0"


@pytest.fixture
def minimal_bin(tmp_path: Path) -> str:
    """A PATH with only cat and echo: no ss, netstat, lsblk, hostname or nproc."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("cat", "echo"):
        found = shutil.which(tool)
        assert found
        (folder / tool).symlink_to(found)
    return str(folder)


def test_sockets_fall_back_to_proc_net_tcp(minimal_bin: str) -> None:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp")
    out = _run(sockets.COMMAND, minimal_bin)
    assert out.startswith("%% proc")
    assert not sockets.parse(out).has_process_names


def test_disks_fall_back_to_proc_partitions(minimal_bin: str) -> None:
    out = _run(disks.COMMAND, minimal_bin)
    assert out.startswith("%% partitions")
    disks.parse(out)


def test_hostname_and_cpu_fall_back(minimal_bin: str) -> None:
    assert system.parse_hostname(_run(system.HOSTNAME_COMMAND, minimal_bin)) == \
        Path("/proc/sys/kernel/hostname").read_text().strip()
    assert system.parse_cpu(_run(system.CPU_COMMAND, minimal_bin)).count == os.cpu_count()


def test_a_broken_probe_is_a_fact_error_not_an_exception() -> None:
    sections = {
        "os": Section("os", 0, "==> /etc/os-release <==\nID=debian\nVERSION_ID=12\n"),
        "hostname": Section("hostname", 0, "h1"),
        "cpu": Section("cpu", 0, "garbage"),
        "memory": Section("memory", 0, "MemTotal: 2048000 kB"),
        "disks": Section("disks", 0, "%% lsblk\nsda 1073741824 disk"),
    }
    facts = facts_from_sections("h1", "10.0.0.1", sections)
    assert facts.reachable and facts.cpu is None and facts.memory_mb == 2000
    assert facts.completeness["cpu"] == "failed" and facts.completeness["os"] == "complete"
    assert facts.completeness["listening"] == "failed"
    never_ran = set(script.PROBE_COMMANDS) - set(sections) - {"sockets"}
    assert {e.fact for e in facts.errors} == {"cpu", "sockets"} | never_ran


def test_a_failed_command_is_blamed_as_command() -> None:
    sections = {"memory": Section("memory", 1, ""), "sockets": Section("sockets", 0, "%% ss\n")}
    facts = facts_from_sections("h1", "10.0.0.1", sections)
    memory = next(e for e in facts.errors if e.fact == "memory")
    assert memory.category == "command" and "exited 1" in memory.message
    assert next(e for e in facts.errors if e.fact == "os").category == "protocol"
    assert facts.completeness["listening"] == "complete"


def test_the_probing_session_itself_is_left_out() -> None:
    ss = ("%% ss\nLISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:((\"sshd\",pid=1,fd=3))\n"
          "ESTAB 0 0 10.0.0.5:22 10.0.0.1:50000 users:((\"sshd\",pid=2,fd=4))\n"
          "ESTAB 0 0 10.0.0.5:22 10.0.0.9:40000 users:((\"sshd\",pid=3,fd=4))\n")
    sections = {"sockets": Section("sockets", 0, ss)}
    facts = facts_from_sections("h1", "10.0.0.5", sections, ignore_peer=("10.0.0.1", 50000))
    assert [(c.remote_address, c.direction) for c in facts.connections] == [("10.0.0.9", "inbound")]


@pytest.mark.parametrize(("sudo_body", "expected"), [
    ("#!/bin/sh\nexit 1\n", "plain"),  # sudo -n refuses (a password would be needed): run as the login user
    ("#!/bin/sh\n[ \"$1\" = -n ] && shift\nPINDAH_VIA_SUDO=1 exec \"$@\"\n", "sudo"),
])
def test_become_uses_sudo_only_when_it_works(tmp_path: Path, sudo_body: str, expected: str) -> None:
    sudo = tmp_path / "sudo"
    sudo.write_text(sudo_body)
    sudo.chmod(0o755)
    probe = "if [ -n \"$PINDAH_VIA_SUDO\" ]; then echo sudo; else echo plain; fi; echo \"it's\""
    command = script.wrap_for_shell(probe, become=True)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    out = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == [expected, "it's"]
    assert subprocess.run(["/bin/sh", "-c", script.wrap_for_shell(probe)], capture_output=True, text=True,
                          env={**env, "PINDAH_VIA_SUDO": ""}, check=True).stdout.split() == ["plain", "it's"]
