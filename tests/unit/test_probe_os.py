"""OS probe parser against real release files: os-release from ~100 distributions, Ansible's cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_fixtures import SHARED_FIXTURES

from discovery.errors import ParseError
from discovery.probes import osrelease

FIXTURES = SHARED_FIXTURES
SKIP = ("COPYING", "LICENSE", "LICENSE.md")


def _files(folder: str, pattern: str = "*") -> list[Path]:
    base = FIXTURES / folder
    return sorted(p for p in base.glob(pattern) if p.name not in SKIP) if base.is_dir() else []


OS_RELEASE = _files("os-release") + _files("os-release-chef")
ANSIBLE = _files("ansible-distribution", "*.json")
# Ansible's distribution names → os-release IDs (only where the mapping is unambiguous)
ANSIBLE_IDS = {"RedHat": "rhel", "CentOS": "centos", "SLES": "sles", "SLES_SAP": "sles_sap", "Debian": "debian",
               "Ubuntu": "ubuntu", "Fedora": "fedora", "Amazon": "amzn", "OracleLinux": "ol",
               "Rocky": "rocky", "AlmaLinux": "almalinux", "openSUSE": "opensuse",
               "openSUSE Leap": "opensuse-leap", "Scientific": "scientific"}
FAMILIES = {"RedHat": "redhat", "Debian": "debian", "Suse": "suse"}
RELEASE_FILE_PATHS = ("/etc/redhat-release", "/etc/SuSE-release", "/etc/centos-release", "/etc/system-release")


def _command_output(files: dict[str, str]) -> str:
    """What the probe command prints for these files."""
    return "".join(f"==> {path} <==\n{content}\n\n" for path, content in files.items())


@pytest.mark.parametrize("path", OS_RELEASE, ids=[f"{p.parent.name}/{p.name}" for p in OS_RELEASE])
def test_every_os_release_file_gives_its_id_and_version(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    expected = osrelease.parse_keyvals(text)
    if not expected.get("ID"):
        with pytest.raises(ParseError):
            osrelease.parse(_command_output({"/etc/os-release": text}))
        return
    parsed = osrelease.parse(_command_output({"/etc/os-release": text}))
    assert parsed.id == expected["ID"].lower()
    assert parsed.version_id == expected.get("VERSION_ID", "")
    assert parsed.name == expected.get("NAME", parsed.id)


def test_os_release_values_unquoted() -> None:
    text = 'NAME="Red Hat Enterprise Linux Server"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="7.7"\n' \
           "PRETTY_NAME='Red Hat Enterprise Linux Server 7.7 (Maipo)'\n# comment\n"
    info = osrelease.parse(_command_output({"/etc/os-release": text}))
    assert (info.id, info.version_id, info.family) == ("rhel", "7.7", "redhat")
    assert info.pretty_name == "Red Hat Enterprise Linux Server 7.7 (Maipo)"


@pytest.mark.parametrize("name", ["os-release-centos", "os-release-ubuntu"])
def test_jc_os_release_oracle(name: str) -> None:
    path = FIXTURES / "jc" / "generic" / name
    if not path.exists():
        pytest.skip("jc fixtures absent")
    oracle = json.loads(path.with_name(name + ".json").read_text())
    parsed = osrelease.parse(_command_output({"/etc/os-release": path.read_text()}))
    assert (parsed.id, parsed.version_id, parsed.name) == (oracle["ID"], oracle["VERSION_ID"], oracle["NAME"])
    assert parsed.pretty_name == oracle["PRETTY_NAME"]


@pytest.mark.parametrize("path", ANSIBLE, ids=[p.stem for p in ANSIBLE])
def test_ansible_distribution_case(path: Path) -> None:
    case = json.loads(path.read_text())
    files = {k: v for k, v in case["input"].items() if isinstance(v, str)}
    result = case["result"]
    expected_id = ANSIBLE_IDS.get(result.get("distribution", ""))
    os_releases = [osrelease.parse_keyvals(v) for k, v in files.items() if k.endswith("os-release")]
    with_id = [values for values in os_releases if values.get("ID")]
    if with_id:
        values = with_id[0]
        parsed = osrelease.parse(_command_output(files))
        assert parsed.id == values["ID"].lower()
        assert parsed.version_id == values.get("VERSION_ID", "")
    elif expected_id is None or not any(p in files for p in (*RELEASE_FILE_PATHS, "/etc/lsb-release")):
        # Not a Linux release pindah knows (Solaris, BSDs, ...): it must say so, never guess a distribution.
        with pytest.raises(ParseError):
            osrelease.parse(_command_output(files))
        return
    else:
        parsed = osrelease.parse(_command_output(files))
        assert parsed.id == expected_id
        assert parsed.version_id == result["distribution_version"]
    if result.get("os_family") in FAMILIES:
        assert parsed.family == FAMILIES[result["os_family"]]


@pytest.mark.parametrize(("stem", "os_id", "version"), [
    ("redhat_6.7", "rhel", "6.7"), ("centos_6.7", "centos", "6.7"),
    ("sles_11.3", "sles", "11.3"), ("sles_11.4", "sles", "11.4")])
def test_release_file_fallback_without_os_release(stem: str, os_id: str, version: str) -> None:
    path = FIXTURES / "ansible-distribution" / f"{stem}.json"
    if not path.exists():
        pytest.skip("ansible fixtures absent")
    files = {k: v for k, v in json.loads(path.read_text())["input"].items() if not k.endswith("os-release")}
    parsed = osrelease.parse(_command_output(files))
    assert (parsed.id, parsed.version_id) == (os_id, version)
    assert parsed.family == ("suse" if os_id == "sles" else "redhat")


def test_debian_version_and_lsb_fallbacks() -> None:
    assert osrelease.parse(_command_output({"/etc/debian_version": "7.9"})).id == "debian"
    lsb = "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=10.04\nDISTRIB_DESCRIPTION=\"Ubuntu 10.04.4 LTS\"\n"
    info = osrelease.parse(_command_output({"/etc/lsb-release": lsb, "/etc/debian_version": "squeeze/sid"}))
    assert (info.id, info.version_id, info.family) == ("ubuntu", "10.04", "debian")


def test_no_release_file_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        osrelease.parse("")


@pytest.mark.parametrize(("os_id", "like", "family"), [
    ("rocky", "rhel centos fedora", "redhat"), ("linuxmint", "ubuntu debian", "debian"),
    ("opensuse-leap", "suse opensuse", "suse"), ("weird", "rhel", "redhat"), ("arch", "", "other")])
def test_family(os_id: str, like: str, family: str) -> None:
    assert osrelease.family_of(os_id, like) == family
