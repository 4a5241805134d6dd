"""Sampling: the loop's output parsed per sample, connections merged over samples, utilisation rates."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest
from shared_fixtures import SHARED_FIXTURES

from discovery.errors import ParseError
from discovery.probes import samples

FIXTURES = SHARED_FIXTURES / "jc" / "linux-proc"


def _sample(i: int, at: int, ss: str, cpu: str, mem_avail: int, disk: tuple[int, int], net: tuple[int, int]) -> str:
    return (f"@@ sample {i} {at}\n@@ sockets\n%% ss\n{ss}\n@@ stat\ncpu  {cpu}\n"
            f"@@ meminfo\nMemTotal: 1000 kB\nMemAvailable: {mem_avail} kB\n"
            f"@@ diskstats\n   8       0 sda 10 0 {disk[0]} 0 20 0 {disk[1]} 0 0 0 0\n"
            f"   8       1 sda1 10 0 999999 0 20 0 999999 0 0 0 0\n"
            f"@@ netdev\nInter-| Receive\n face |bytes\n    lo: 5000 1 0 0 0 0 0 0 5000 1 0 0 0 0 0 0\n"
            f"  eth0: {net[0]} 1 0 0 0 0 0 0 {net[1]} 1 0 0 0 0 0 0\n@@ tick\n@@ tick\n")


LISTEN = "LISTEN 0 128 0.0.0.0:80 0.0.0.0:* users:((\"nginx\",pid=1,fd=3))"
TO_DB = "ESTAB 0 0 10.0.0.1:40001 10.0.0.2:5432 users:((\"nginx\",pid=1,fd=4))"
TO_DB_AGAIN = "ESTAB 0 0 10.0.0.1:40777 10.0.0.2:5432 users:((\"nginx\",pid=1,fd=4))"
FROM_LB = "ESTAB 0 0 10.0.0.1:80 10.0.0.9:50000 users:((\"nginx\",pid=1,fd=5))"
SSH = "ESTAB 0 0 10.0.0.1:22 10.0.0.100:60000 users:((\"sshd\",pid=9,fd=3))"


def _text() -> str:
    return (_sample(0, 1000, f"{LISTEN}\n{TO_DB}\n{SSH}", "100 0 100 800 0 0 0 0", 600, (0, 0), (0, 0))
            + _sample(1, 1002, f"{LISTEN}\n{TO_DB_AGAIN}\n{FROM_LB}\n{SSH}", "200 0 200 1400 200 0 0 0", 500,
                      (2048, 4096), (4096, 2048))
            + _sample(2, 1004, f"{LISTEN}\n{FROM_LB}\n{SSH}", "300 0 300 2100 200 0 0 0", 700,
                      (2048, 8192), (8192, 2048)))


def test_connections_merge_over_samples_ignoring_our_session() -> None:
    raw = samples.parse(_text())
    assert [s.index for s in raw] == [0, 1, 2]
    observed = samples.observe(raw, ignore_peer=("10.0.0.100", 60000))
    summary = [(c.direction, c.remote_address, c.remote_port, c.local_port, c.observations,
                c.first_seen.timestamp(), c.last_seen.timestamp()) for c in observed]
    assert summary == [("inbound", "10.0.0.9", 50000, 80, 2, 1002, 1004),
                       ("outbound", "10.0.0.2", 5432, 40777, 2, 1000, 1002)]


def test_utilisation_rates_and_peak() -> None:
    usage = samples.utilisation(samples.parse(_text()))
    first, second = usage.intervals
    # interval 1: jiffies 1000 → 2000, idle+iowait 800 → 1600: busy 200 of 1000 = 20 %
    assert first.cpu_percent == 20.0 and first.seconds == 2
    assert first.memory_used_percent == 50.0 and second.memory_used_percent == 30.0
    assert first.disk_read_kbps == 2048 * 512 / 1024 / 2 and first.disk_write_kbps == 4096 * 512 / 1024 / 2
    assert (first.net_rx_kbps, first.net_tx_kbps) == (2.0, 1.0)
    assert usage.peak is not None
    assert usage.peak.memory_used_percent == 50.0 and usage.peak.net_rx_kbps == 2.0
    assert usage.peak.disk_write_kbps == max(first.disk_write_kbps or 0, second.disk_write_kbps or 0)


def test_net_dev_capture_rates() -> None:
    path = FIXTURES / "net_dev"
    if not path.exists():
        pytest.skip("jc fixtures absent")
    oracle = json.loads(path.with_name("net_dev.json").read_text())
    rx = sum(r["r_bytes"] for r in oracle if r["interface"] != "lo")
    tx = sum(r["t_bytes"] for r in oracle if r["interface"] != "lo")
    text = path.read_text()
    zero = "\n".join(line.split(":")[0] + ": 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0" if ":" in line else line
                     for line in text.splitlines())
    raw = samples.parse(f"@@ sample 0 100\n@@ netdev\n{zero}\n@@ sample 1 101\n@@ netdev\n{text}\n")
    (interval,) = samples.utilisation(raw).intervals
    assert (interval.net_rx_kbps, interval.net_tx_kbps) == (round(rx / 1024, 1), round(tx / 1024, 1))


def test_no_samples_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        samples.parse("")


def test_loop_runs_in_sh_with_ticks() -> None:
    out = subprocess.run(["/bin/sh", "-c", samples.command(2, 1)], capture_output=True, text=True, check=True).stdout
    raw = samples.parse(out)
    assert len(raw) == 2 and out.count("@@ tick") == 1
    assert (raw[1].at - raw[0].at).total_seconds() >= 1
    assert raw[0].at <= datetime.now(UTC)
    assert samples.utilisation(raw).intervals[0].memory_used_percent is not None
