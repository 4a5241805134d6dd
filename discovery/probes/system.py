"""Hostname, CPU and memory probes: commands plus pure parsers over their text output."""

from __future__ import annotations

import re

from discovery.errors import ParseError
from discovery.facts import CpuInfo

HOSTNAME_COMMAND = (
    "{ if command -v timeout >/dev/null 2>&1; then timeout 3 hostname -f; else hostname -f; fi; } 2>/dev/null"
    " || hostname 2>/dev/null || cat /proc/sys/kernel/hostname"
)
CPU_COMMAND = "cat /proc/cpuinfo 2>/dev/null; echo \"%% nproc $(nproc 2>/dev/null)\""
MEMORY_COMMAND = "cat /proc/meminfo"

_PROCESSOR = re.compile(r"^processor\s*:\s*\d+\s*$", re.MULTILINE)
_S390_PROCESSOR = re.compile(r"^processor\s+\d+\s*:", re.MULTILINE)
_COUNT_LINES = re.compile(r"^(?:# processors|ncpus active)\s*:\s*(\d+)\s*$", re.MULTILINE)
_NPROC = re.compile(r"^%% nproc (\d+)\s*$", re.MULTILINE)
_MODEL_KEYS = ("model name", "Processor", "cpu", "cpu model", "vendor_id")
_MEMTOTAL = re.compile(r"^MemTotal:\s*(\d+)\s*kB\s*$", re.MULTILINE)


def parse_hostname(text: str) -> str:
    """The first non-empty line of the hostname command's output."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    raise ParseError("hostname printed nothing")


def parse_cpu(text: str) -> CpuInfo:
    """Count logical CPUs in /proc/cpuinfo (x86, ARM, POWER, s390x, SPARC), else use nproc."""
    count = len(_PROCESSOR.findall(text)) or len(_S390_PROCESSOR.findall(text))
    declared = _COUNT_LINES.search(text)
    if declared:
        count = int(declared.group(1))
    if count == 0:
        nproc = _NPROC.search(text)
        count = int(nproc.group(1)) if nproc else 0
    if count <= 0:
        raise ParseError("no processors found in /proc/cpuinfo and nproc gave nothing")
    return CpuInfo(count=count, model=_cpu_model(text))


def _cpu_model(text: str) -> str:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    for key in _MODEL_KEYS:
        if fields.get(key):
            return fields[key]
    return ""


def parse_memory_mb(text: str) -> int:
    """MemTotal from /proc/meminfo, in MiB."""
    found = _MEMTOTAL.search(text)
    if not found:
        raise ParseError("no MemTotal line in /proc/meminfo")
    return int(found.group(1)) // 1024
