"""Disk parsers: lsblk (bytes, human sizes, -P pairs) and /proc/partitions, against jc's oracles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_fixtures import SHARED_FIXTURES

from discovery.facts import Disk
from discovery.probes import disks

FIXTURES = SHARED_FIXTURES
LSBLK = [FIXTURES / "jc" / d / "lsblk.out" for d in ("centos-7.7", "ubuntu-18.04")]


@pytest.mark.parametrize("path", LSBLK, ids=[p.parent.name for p in LSBLK])
def test_lsblk_text_whole_disks_match_jc(path: Path) -> None:
    if not path.exists():
        pytest.skip("jc fixtures absent")
    oracle = json.loads(path.with_suffix(".json").read_text())
    expected = {row["name"]: round(row["size_bytes"] / 1024**3, 1) for row in oracle
                if row["type"] == "disk" and not row["name"].startswith(("fd", "sr"))}
    parsed = {d.name: d.size_gb for d in disks.parse_lsblk(path.read_text())}
    assert set(parsed) == set(expected)
    for name, size in expected.items():
        assert parsed[name] == pytest.approx(size, abs=0.2)  # jc's size_bytes is rounded from "20G"-style text


def test_lsblk_bytes_output_as_the_probe_runs_it() -> None:
    text = "%% lsblk\nsda 107374182400 disk\nsr0 1073741312 rom\nzram0 0 disk\nnvme0n1 256060514304 disk\n"
    assert disks.parse(text) == (Disk(name="sda", size_gb=100.0), Disk(name="nvme0n1", size_gb=238.5))


def test_lsblk_pairs() -> None:
    text = 'NAME="vda" SIZE="21474836480" TYPE="disk"\nNAME="vda1" SIZE="1048576" TYPE="part"\n'
    assert disks.parse_lsblk(text) == (Disk(name="vda", size_gb=20.0),)


def test_proc_partitions_matches_jc_whole_disks() -> None:
    path = FIXTURES / "jc" / "linux-proc" / "partitions"
    if not path.exists():
        pytest.skip("jc fixtures absent")
    rows = json.loads(path.with_name("partitions.json").read_text())
    names = {r["name"] for r in rows}
    expected = {r["name"]: round(r["num_blocks"] * 1024 / 1024**3, 1) for r in rows
                if not r["name"].startswith(("loop", "dm-", "sr"))
                and not any(r["name"] != n and r["name"].startswith(n) for n in names)}
    parsed = disks.parse("%% partitions\n" + path.read_text())
    assert {d.name: d.size_gb for d in parsed} == expected


def test_proc_partitions_nvme_and_md() -> None:
    text = ("major minor  #blocks  name\n\n 259 0 500107608 nvme0n1\n 259 1 524288 nvme0n1p1\n"
            " 8 0 1048576 sda\n 8 1 1047552 sda1\n 9 0 1046528 md0\n 253 0 100 dm-0\n")
    assert [d.name for d in disks.parse_proc_partitions(text)] == ["nvme0n1", "sda"]
