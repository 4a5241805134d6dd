"""Each lab host's own package database: Debian-family hosts list their release's base system plus their
services' packages; RPM-family and SUSE hosts have none."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from discovery.probes import packages as probe
from orchestrator.lab import packages
from orchestrator.lab.distros import DISTROS
from orchestrator.lab.topology import AGENT, SSSD, SYSLOG, TIER_SERVICE, build_topology

HOSTS = build_topology(3, 60, "10.213.0.0/16")


def test_every_debian_release_has_base_and_service_packages() -> None:
    table = packages._table()
    debian = {key for key, d in DISTROS.items() if d.family == "Debian"}
    assert set(table) == debian
    processes = {p for _, p, _ in TIER_SERVICE.values()} | {AGENT[1], SSSD[1]}
    for key in debian:
        assert {"bash", "dpkg", "libc6", "openssh-server", "python3"} <= set(table[key]["base"])
        assert processes <= set(table[key]["process"]), key
    assert SYSLOG[1] not in table["debian12"]["process"]  # rsyslog is in the base system


def test_hosts_list_base_plus_their_services() -> None:
    seen = set()
    for host in HOSTS:
        if host.os.family != "Debian":
            assert host.packages is None and packages.dpkg_status(host) == "", host.name
            seen.add("none")
            continue
        names = {row.split(" ")[0] for row in host.packages or ()}
        base = set(packages._table()[host.os.key]["base"])
        assert base <= names
        by_process = packages._table()[host.os.key]["process"]
        wanted = set().union(*(set(by_process.get(s.process, {})) for s in host.services))
        assert names == base | wanted, host.name
        if host.tier == "web":
            assert "nginx" in names
        if host.tier == "db":
            assert any(n.startswith("postgresql-") for n in names)
        if host.tier != "web":
            assert "nginx" not in names
        seen.add("dpkg")
    assert seen == {"none", "dpkg"}


def test_status_file_reads_back_through_the_probe_parser() -> None:
    host = next(h for h in HOSTS if h.packages)
    rows = []
    for stanza in packages.dpkg_status(host).split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines())
        rows.append(f"{fields['Package']}\t{fields['Version']}\t{fields['Architecture']}\t{fields['Status']}")
    parsed = probe.parse("%% dpkg\n" + "\n".join(rows))
    assert {f"{p.name} {p.version} {p.arch}" for p in parsed} == set(host.packages or ())


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs dpkg-query (Debian family)")
def test_real_dpkg_query_reads_the_status_file(tmp_path: Path) -> None:
    host = next(h for h in HOSTS if h.packages)
    (tmp_path / "status").write_text(packages.dpkg_status(host))
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Version} ${Architecture}\n"], check=True,
                         capture_output=True, text=True, env={**os.environ, "DPKG_ADMINDIR": str(tmp_path)})
    assert out.stderr == ""
    assert tuple(sorted(out.stdout.splitlines())) == host.packages


@pytest.mark.skipif(shutil.which("dpkg-query") is None or shutil.which("rpm") is not None,
                    reason="needs dpkg-query and no rpm")
def test_probe_passes_over_an_empty_dpkg_database(tmp_path: Path) -> None:
    (tmp_path / "status").write_text("")
    out = subprocess.run(["sh", "-c", probe.COMMAND], check=True, capture_output=True, text=True,
                         env={**os.environ, "DPKG_ADMINDIR": str(tmp_path)})
    assert out.stdout == "%% none\n"
    with pytest.raises(probe.ParseError, match="no package database"):
        probe.parse(out.stdout)
