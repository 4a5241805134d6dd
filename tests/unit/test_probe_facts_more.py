"""Virtualisation, processes, end-of-life and middleware: pure functions, real release files where they exist."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from shared_fixtures import SHARED_FIXTURES

from discovery import eol, middleware
from discovery.facts import OsInfo, Package
from discovery.probes import osrelease, processes, virt
from discovery.probes.partial import Partial

FIXTURES = SHARED_FIXTURES
CHEF = sorted(p for p in (FIXTURES / "os-release-chef").glob("*") if p.name != "LICENSE") \
    if (FIXTURES / "os-release-chef").is_dir() else []


@pytest.mark.parametrize("path", CHEF, ids=[p.name for p in CHEF])
def test_every_tabled_release_has_an_eol_date(path: Path) -> None:
    os_info = osrelease.parse(f"==> /etc/os-release <==\n{path.read_text()}")
    info = eol.status(os_info, date(2026, 1, 1))
    if os_info.id in eol.table() and os_info.id != "opensuse-leap":
        assert info.date is not None, (os_info.id, os_info.version_id)
        assert info.status == ("eol" if date.fromisoformat(info.date) < date(2026, 1, 1) else "supported")
    elif os_info.id not in eol.table():
        assert info.status == "unknown"


def test_eol_boundaries() -> None:
    centos7 = OsInfo(id="centos", version_id="7", name="CentOS Linux", family="redhat")
    assert eol.status(centos7, date(2024, 6, 30)).status == "supported"
    assert eol.status(centos7, date(2024, 7, 1)).status == "eol"
    rhel = OsInfo(id="rhel", version_id="8.10", name="RHEL", family="redhat")
    assert eol.status(rhel, date(2026, 1, 1)).date == "2029-05-31"
    assert eol.status(OsInfo(id="gentoo", version_id="2", name="G", family="gentoo"), date(2026, 1, 1)).status \
        == "unknown"


@pytest.mark.parametrize(("text", "expected"), [
    ("%% detect kvm\n%% product \n%% vendor \n%% hypervisor-flag 2\n", "kvm"),
    ("%% detect \n%% product VMware Virtual Platform\n%% vendor VMware, Inc.\n%% hypervisor-flag 1\n", "vmware"),
    ("%% detect \n%% product Virtual Machine\n%% vendor Microsoft Corporation\n%% hypervisor-flag 1\n",
     "microsoft"),
    ("%% detect \n%% product PowerEdge R740\n%% vendor Dell Inc.\n%% hypervisor-flag 0\n", "none"),
])
def test_virtualization(text: str, expected: str) -> None:
    assert virt.parse(text) == expected


def test_virtualization_unknown_is_partial() -> None:
    found = virt.parse("%% detect \n%% product \n%% vendor \n%% hypervisor-flag 4\n")
    assert isinstance(found, Partial)
    assert found.value == "unknown"


def test_middleware_from_packages_and_processes() -> None:
    pkgs = [Package(name="nginx", version="1.22.1-9", manager="dpkg"),
            Package(name="postgresql-server", version="13.14-1.el9", manager="rpm"),
            Package(name="bash", version="5.2", manager="dpkg")]
    procs = processes.parse("nginx nginx: master process /usr/sbin/nginx\n"
                            "java /usr/lib/jvm/java-17-openjdk-amd64/bin/java -cp x "
                            "org.apache.catalina.startup.Bootstrap start\n"
                            "python3.11 /usr/bin/python3.11 /opt/app.py\nkthreadd [kthreadd]\n")
    found = {m.kind: m for m in middleware.detect(pkgs, procs)}
    assert set(found) == {"nginx", "postgres", "java", "tomcat", "python"}
    assert found["nginx"].version == "1.22.1"
    assert found["postgres"].version == "13.14"
    assert found["java"].version == "17"
    assert found["python"].version == "3.11"
    assert found["nginx"].evidence == ("package:nginx", "process:nginx")


def test_postgres_version_from_process_path() -> None:
    procs = processes.parse("postgres /usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main\n")
    (found,) = middleware.detect([], procs)
    assert (found.kind, found.version) == ("postgres", "15")
