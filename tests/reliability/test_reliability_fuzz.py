"""Every probe parser fuzzed with hypothesis, seeded with real command outputs from ../shared/fixtures.

Each example takes a real capture (ss, netstat, /proc/net/tcp, lsblk, /proc/partitions, dpkg -l, rpm -qi,
systemctl, ifconfig, ip route, df, crontab, ps, os-release, cpuinfo, meminfo) and mutates it: bytes
inserted (control characters, invalid UTF-8 made text, huge numbers, separators), slices deleted or
duplicated, lines swapped, the text truncated. A parser must return a result or raise discovery's typed
ParseError (a DiscoveryError); any other exception escaping is a bug. The profile is derandomised with a
bounded number of examples, so CI time stays small and a failure reproduces.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_fixtures import JC, SHARED_FIXTURES

from discovery.assemble import facts_from_sections
from discovery.errors import DiscoveryError
from discovery.probes import (
    cron,
    disks,
    mounts,
    network,
    osrelease,
    packages,
    processes,
    samples,
    script,
    services,
    sockets,
    system,
    virt,
)

AREA = "parsers fuzzed (hypothesis)"
EXAMPLES = 150
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _read(relative: str) -> str:
    path = SHARED_FIXTURES / relative
    return path.read_bytes().decode("utf-8", "replace") if path.exists() else ""


def _jc(*names: str) -> list[str]:
    return [_read(f"jc/{n}") for n in names]


# parser name -> (function, seed texts built from real captures as the probe's command prints them)
def _seeds() -> dict[str, tuple[Callable[[str], Any], list[str]]]:
    os_files = sorted((SHARED_FIXTURES / "os-release").glob("*"))[:12]
    cpu_files = sorted((SHARED_FIXTURES / "ansible-cpuinfo").glob("*cpuinfo*"))
    return {
        "sockets (ss/netstat//proc/net/tcp)": (sockets.parse, [
            *("%% ss\n" + t for t in _jc("centos-7.7/ss-sudo-a.out", "ubuntu-18.04/ss-sudo-tulpen.out",
                                         "generic/ss-wide.out")),
            *("%% netstat\n" + t for t in _jc("centos-7.7/netstat-sudo-aeep.out", "ubuntu-18.04/netstat-p.out",
                                              "generic/netstat-old.out", "fedora32/netstat.out")),
            *("%% proc\n" + t for t in _jc("linux-proc/net_tcp", "linux-proc/net_tcp6"))]),
        "disks (lsblk, /proc/partitions)": (disks.parse, [
            "%% partitions\n" + _read("jc/linux-proc/partitions"),
            "%% lsblk\n" + "sda 53687091200 disk\nsr0 1073741312 rom\nvda 10737418240 disk\n"]),
        "packages (dpkg -l)": (packages.parse_dpkg_l, _jc("ubuntu-18.04/dpkg-l.out")),
        "packages (rpm -qi)": (packages.parse_rpm_qi, _jc("centos-7.7/rpm-qi-package.out")),
        "packages (dpkg-query / rpm queryformat sections)": (packages.parse, [
            "%% dpkg\nbash\t5.2\tamd64\tinstall ok installed\nopenssl\t3.0.11\tamd64\tinstall ok installed\n",
            "%% rpm\nbash\t0:4.2.46-34.el7\tx86_64\nopenssl\t1:1.0.2k-19.el7\tx86_64\n"]),
        "services (systemctl list-unit-files)": (services.parse, [
            "%% units\n%% unit-files\n" + t for t in _jc("centos-7.7/systemctl-luf.out",
                                                          "ubuntu-18.04/systemctl-luf.out")]),
        "network (ifconfig, ip route, /proc/net/route, resolv.conf)": (network.parse, [
            "%% ifconfig\n" + _read("jc/centos-7.7/ifconfig.out") + "%% proc-route\n"
            + _read("jc/linux-proc/net_route") + "%% resolv\nnameserver 10.0.0.2\nsearch example.go.id\n",
            "%% ip-link\n%% ip-addr\n%% ip-route\n" + _read("jc/centos-7.7/ip_route.out") + "%% resolv\n"]),
        "mounts (df)": (mounts.parse, _jc("centos-7.7/df.out")),
        "cron (crontab)": (cron.parse, ["%% system /etc/crontab\n" + _read("jc/centos-7.7/crontab.out")
                                        + "%% user root\n*/5 * * * * /usr/bin/backup.sh\n"]),
        "processes (ps)": (processes.parse, [
            "\n".join(line.split(None, 7)[-1] for line in t.splitlines()[1:] if line.strip())
            for t in _jc("centos-7.7/ps-ef.out", "ubuntu-18.04/ps-ef.out")]),
        "os-release": (osrelease.parse, [f"==> /etc/os-release <==\n{p.read_text(errors='replace')}\n"
                                         for p in os_files]),
        "cpu (/proc/cpuinfo)": (system.parse_cpu, [p.read_text(errors="replace") + "\n%% nproc 4\n"
                                                   for p in cpu_files] + _jc("linux-proc/cpuinfo")),
        "memory (/proc/meminfo)": (system.parse_memory_mb, _jc("linux-proc/meminfo")),
        "virtualization": (virt.parse, ["%% detect kvm\n%% product Standard PC\n%% vendor QEMU\n"
                                        "%% hypervisor-flag 4\n"]),
        "samples (connections and utilisation over time)": (samples.parse, [
            "@@ sample 1 1700000000\n@@ sockets\n%% ss\n" + _read("jc/generic/ss-wide.out")
            + "@@ stat\ncpu  10 0 10 100 0 0 0 0 0 0\n@@ meminfo\nMemTotal: 1000 kB\nMemAvailable: 500 kB\n"
            "@@ diskstats\n" + "@@ netdev\n" + _read("jc/linux-proc/net_dev")
            + "@@ tick\n@@ sample 2 1700000005\n@@ stat\ncpu  20 0 20 200 0 0 0 0 0 0\n"]),
    }


SEEDS = _seeds()
NASTY = ["\x00", "\x1b[2J", "\xff", "\ufffd", "\t", "\n", "\n\n", " ", ":", "::", "*", "[", "]", "(", ")",
         '"', "'", "%% ", "%% ss\n", "@@ ", "==> ", "<==", "=", "/", "-1", "0", "99999999999999999999999",
         "nan", "1e999", "\u2028", "€", "users:((", ",pid=", "LISTEN", "ESTAB", "0.0.0.0:*", "[::]:22"]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str]) -> str:
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            text = draw(st.text(max_size=50))
        kind = draw(st.sampled_from(["insert", "delete", "duplicate", "swap", "truncate", "replace-line"]))
        at = draw(st.integers(0, len(text)))
        if kind == "insert":
            text = text[:at] + draw(st.sampled_from(NASTY) | st.text(max_size=20)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 200)):]
        elif kind == "duplicate":
            text = text[:at] + text[at:at + draw(st.integers(1, 300))] + text[at:]
        elif kind == "truncate":
            text = text[:at]
        else:
            lines = text.splitlines()
            if len(lines) > 1:
                i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
                if kind == "swap":
                    lines[i], lines[j] = lines[j], lines[i]
                else:
                    lines[i] = draw(st.text(max_size=80))
                text = "\n".join(lines)
    return text


@pytest.mark.parametrize("parser", sorted(SEEDS))
@pytest.mark.fault(AREA, "each of 16 probe parsers (sockets, disks, packages x3, services, network, mounts, "
                   "cron, processes, os-release, cpu, memory, virtualization, samples) on mutated real captures "
                   f"from ../shared/fixtures ({EXAMPLES} derandomised examples each)",
                   "a result or discovery's typed ParseError; no other exception escapes", trials=EXAMPLES)
def test_parser_returns_result_or_typed_error(parser: str) -> None:
    function, seeds = SEEDS[parser]
    seeds = [s for s in seeds if s.strip()]
    if not (JC.exists() and seeds):
        pytest.skip("shared fixtures absent")

    @FUZZ
    @given(mutated(seeds))
    def check(text: str) -> None:
        with contextlib.suppress(DiscoveryError):  # the typed error is allowed; anything else fails
            function(text)

    check()


@pytest.mark.fault(AREA, "the whole probe output (every section from real captures, mutated, then split by the "
                   f"nonce markers and assembled into HostFacts; {EXAMPLES} derandomised examples)",
                   "HostFacts for the host, a failed fact recorded as data; no exception escapes",
                   trials=EXAMPLES)
def test_whole_probe_output_assembles(tmp_path: Path) -> None:
    if not JC.exists():
        pytest.skip("shared fixtures absent")
    nonce = "00ff00ff00ff00ff"
    pieces = {"os": SEEDS["os-release"][1][0], "hostname": "web-01.example.go.id",
              "cpu": SEEDS["cpu (/proc/cpuinfo)"][1][0], "memory": _read("jc/linux-proc/meminfo"),
              "disks": SEEDS["disks (lsblk, /proc/partitions)"][1][0],
              "sockets": SEEDS["sockets (ss/netstat//proc/net/tcp)"][1][0],
              "packages": SEEDS["packages (dpkg-query / rpm queryformat sections)"][1][0],
              "services": SEEDS["services (systemctl list-unit-files)"][1][0],
              "network": SEEDS["network (ifconfig, ip route, /proc/net/route, resolv.conf)"][1][0],
              "mounts": _read("jc/centos-7.7/df.out"), "cron": SEEDS["cron (crontab)"][1][0],
              "virtualization": SEEDS["virtualization"][1][0], "processes": SEEDS["processes (ps)"][1][0]}
    whole = "".join(f"@@PINDAH:{nonce}:BEGIN:{k}@@\n{v}\n@@PINDAH:{nonce}:END:{k}:0@@\n" for k, v in pieces.items())

    @FUZZ
    @given(mutated([whole]))
    def check(text: str) -> None:
        facts = facts_from_sections("web-01", "10.0.0.5", script.split_output(text, nonce))
        assert facts.name == "web-01"

    check()
