"""Service parsers: real ``systemctl list-unit-files`` captures, list-units rows, SysV fallbacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_fixtures import SHARED_FIXTURES

from discovery.probes import services
from discovery.probes.partial import Partial

FIXTURES = SHARED_FIXTURES / "jc"
LUF = [FIXTURES / d / "systemctl-luf.out" for d in ("centos-7.7", "ubuntu-18.04")]


@pytest.mark.parametrize("path", LUF, ids=[p.parent.name for p in LUF])
def test_unit_files_capture_matches_jc(path: Path) -> None:
    if not path.exists():
        pytest.skip("jc fixtures absent")
    oracle = {row["unit_file"].removesuffix(".service"): row["state"]
              for row in json.loads(path.with_suffix(".json").read_text())
              if row["unit_file"].endswith(".service") and not row["unit_file"].endswith("@.service")}
    found = services.parse("%% units\n%% unit-files\n" + path.read_text())
    assert isinstance(found, tuple)
    assert {s.name: s.state for s in found} == oracle
    for service in found:
        assert service.enabled is {"enabled": True, "disabled": False, "masked": False}.get(
            oracle[service.name], service.enabled)


def test_units_and_files_merge() -> None:
    text = ("%% units\n  nginx.service loaded active running A high performance web server\n"
            "● cron.service not-found inactive dead cron.service\n"
            "%% unit-files\nnginx.service enabled enabled\ncron.service disabled enabled\n"
            "getty@.service enabled enabled\n")
    found = services.parse(text)
    assert isinstance(found, tuple)
    assert [(s.name, s.active, s.enabled, s.state) for s in found] == [
        ("cron", False, False, "dead"), ("nginx", True, True, "running")]


def test_sysv_debian_status_all() -> None:
    text = "%% chkconfig\n%% status\n [ + ]  ssh\n [ - ]  nginx\n [ ? ]  hwclock.sh\n%% initd\nssh\nnginx\nREADME\n"
    found = services.parse(text)
    assert isinstance(found, tuple)
    assert [(s.name, s.active) for s in found] == [("hwclock.sh", None), ("nginx", False), ("ssh", True)]


def test_sysv_redhat_chkconfig_and_status() -> None:
    text = ("%% chkconfig\nsshd           \t0:off\t1:off\t2:on\t3:on\t4:on\t5:on\t6:off\n"
            "kdump          \t0:off\t1:off\t2:off\t3:off\t4:off\t5:off\t6:off\n"
            "%% status\nopenssh-daemon (pid  1587) is running...\nsshd (pid  1234) is running...\n"
            "kdump is stopped\n%% initd\n")
    found = services.parse(text)
    assert isinstance(found, tuple)
    by_name = {s.name: s for s in found}
    assert (by_name["sshd"].enabled, by_name["sshd"].active) == (True, True)
    assert (by_name["kdump"].enabled, by_name["kdump"].active) == (False, False)


def test_init_d_names_only_is_partial() -> None:
    found = services.parse("%% chkconfig\n%% status\n%% initd\npostgresql\nnginx\n")
    assert isinstance(found, Partial)
    assert [s.name for s in found.value] == ["nginx", "postgresql"]
