"""Release files of the lab's distributions: the mix required, the real fields, the ground truth."""

from __future__ import annotations

import shlex

import pytest
from shared_fixtures import SHARED_FIXTURES

from orchestrator.lab.distros import CLOUD_IMAGE_DISTRO, DISTROS

FIXTURES = SHARED_FIXTURES


def parse_os_release(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = shlex.split(value)[0] if value else ""
    return out


def test_required_mix_present():
    ids = {(d.id, d.version_id.split(".")[0]) for d in DISTROS.values()}
    for major in ("6", "7", "8"):
        assert ("rhel", major) in ids and ("centos", major) in ids
    for want in (("rocky", "8"), ("rocky", "9"), ("debian", "10"), ("debian", "11"), ("debian", "12"),
                 ("ubuntu", "18"), ("ubuntu", "20"), ("ubuntu", "22"), ("sles", "11"), ("sles", "12"),
                 ("sles", "15")):
        assert want in ids
    assert CLOUD_IMAGE_DISTRO in DISTROS


@pytest.mark.parametrize("key", sorted(DISTROS))
def test_os_release_matches_ground_truth(key):
    distro = DISTROS[key]
    if "os-release" in distro.files:
        fields = parse_os_release(distro.files["os-release"])
        assert fields["ID"] == distro.id
        assert fields["VERSION_ID"] == distro.version_id
        assert fields["PRETTY_NAME"] == distro.pretty_name
    else:
        assert key in ("rhel6.10", "centos6.7", "sles11.4")


def test_legacy_release_files():
    assert DISTROS["rhel6.10"].files["redhat-release"] == "Red Hat Enterprise Linux Server release 6.10 (Santiago)\n"
    assert DISTROS["centos6.7"].files["centos-release"] == "CentOS release 6.7 (Final)\n"
    assert "VERSION = 11\nPATCHLEVEL = 4\n" in DISTROS["sles11.4"].files["SuSE-release"]
    assert "SuSE-release" not in DISTROS["sles15.5"].files
    assert DISTROS["ubuntu22.04"].files["debian_version"] == "bookworm/sid\n"
    assert "DISTRIB_RELEASE=20.04" in DISTROS["ubuntu20.04"].files["lsb-release"]
    assert "debian_version" not in DISTROS["rocky9.3"].files


@pytest.mark.parametrize(("key", "fixture"), [("debian10", "debian_10.os-release"),
                                              ("rhel7.9", "redhat_7.7.os-release"),
                                              ("ubuntu18.04", "ubuntu_18.04.os-release"),
                                              ("sles12.5", "sles_12_sp1.os-release")])
def test_same_fields_as_real_captures(key, fixture):
    path = FIXTURES / "os-release" / fixture
    if not path.exists():
        pytest.skip("shared fixtures not available")
    real = set(parse_os_release(path.read_text()))
    ours = set(parse_os_release(DISTROS[key].files["os-release"]))
    assert ours == real
