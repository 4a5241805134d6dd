"""Package parsers: rpm queryformat / dpkg-query rows, and real ``dpkg -l`` / ``rpm -qi`` captures."""

from __future__ import annotations

import json

import pytest
from shared_fixtures import jc_fixture

from discovery.errors import ParseError
from discovery.probes import packages


def test_dpkg_l_capture_matches_jc() -> None:
    path = jc_fixture("ubuntu-18.04/dpkg-l.out")
    oracle = [row for row in json.loads(path.with_suffix(".json").read_text()) if row["codes"] == "ii"]
    found = {p.name: p for p in packages.parse_dpkg_l(path.read_text())}
    assert len(found) == len(oracle)
    for row in oracle:
        assert found[row["name"].split(":")[0]].version == row["version"]
        assert found[row["name"].split(":")[0]].arch == row["architecture"]


def test_rpm_qi_capture_matches_jc() -> None:
    path = jc_fixture("centos-7.7/rpm-qi-package.out")
    oracle = json.loads(path.with_suffix(".json").read_text())
    found = packages.parse_rpm_qi(path.read_text())
    assert [(p.name, p.version, p.arch) for p in found] == [
        (r["name"], f"{r['epoch']}:{r['version']}-{r['release']}", r["architecture"]) for r in oracle]


def test_rpm_queryformat_rows() -> None:
    text = ("%% rpm\nbash\t(none):4.2.46-34.el7\tx86_64\nmake\t1:3.82-24.el7\tx86_64\n"
            "gpg-pubkey\t(none):f4a80eb5-53a7ff4b\t(none)\n")
    found = packages.parse(text)
    assert [(p.name, p.version, p.manager) for p in found] == [
        ("bash", "4.2.46-34.el7", "rpm"), ("make", "1:3.82-24.el7", "rpm")]


def test_dpkg_query_keeps_installed_only() -> None:
    text = ("%% dpkg\nnginx\t1.22.1-9\tamd64\tinstall ok installed\n"
            "old-kernel\t4.15\tamd64\tdeinstall ok config-files\n")
    assert [(p.name, p.version) for p in packages.parse(text)] == [("nginx", "1.22.1-9")]


def test_no_package_manager_fails_the_fact() -> None:
    with pytest.raises(ParseError):
        packages.parse("%% none\n")
