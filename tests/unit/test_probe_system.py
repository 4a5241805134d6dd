"""CPU, memory and hostname parsers against real /proc captures (x86, ARM, POWER, s390x, SPARC)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from shared_fixtures import SHARED_FIXTURES

from discovery.errors import ParseError
from discovery.probes import system

FIXTURES = SHARED_FIXTURES
CPUINFO = sorted(p for p in (FIXTURES / "ansible-cpuinfo").glob("*") if p.name != "COPYING") \
    if (FIXTURES / "ansible-cpuinfo").is_dir() else []


@pytest.mark.parametrize("path", CPUINFO, ids=[p.name for p in CPUINFO])
def test_processor_count_per_architecture(path: Path) -> None:
    expected = int(re.search(r"-(\d+)v?cpu", path.name).group(1))  # type: ignore[union-attr]
    info = system.parse_cpu(path.read_text())
    assert info.count == expected
    has_model_line = re.search(r"^(model name|Processor|cpu|vendor_id)\s*:", path.read_text(), re.MULTILINE)
    assert bool(info.model) == bool(has_model_line)


@pytest.mark.parametrize("name", ["cpuinfo", "cpuinfo2"])
def test_jc_cpuinfo_oracle(name: str) -> None:
    path = FIXTURES / "jc" / "linux-proc" / name
    if not path.exists():
        pytest.skip("jc fixtures absent")
    oracle = json.loads(path.with_name(name + ".json").read_text())
    info = system.parse_cpu(path.read_text())
    assert info.count == len(oracle)
    assert info.model == oracle[0]["model name"]


def test_nproc_fallback_when_cpuinfo_is_unreadable() -> None:
    assert system.parse_cpu("%% nproc 6\n").count == 6
    with pytest.raises(ParseError):
        system.parse_cpu("%% nproc \n")


def test_jc_meminfo_oracle() -> None:
    path = FIXTURES / "jc" / "linux-proc" / "meminfo"
    if not path.exists():
        pytest.skip("jc fixtures absent")
    oracle = json.loads(path.with_name("meminfo.json").read_text())
    assert system.parse_memory_mb(path.read_text()) == oracle["MemTotal"] // 1024


def test_meminfo_without_memtotal_fails() -> None:
    with pytest.raises(ParseError):
        system.parse_memory_mb("MemFree: 12 kB\n")


def test_hostname_first_line() -> None:
    assert system.parse_hostname("\nweb-01.example\n") == "web-01.example"
    with pytest.raises(ParseError):
        system.parse_hostname("  \n")
