"""Benchmark: `lab up` / `lab down` for a large lab estate, with the memory it holds.

Prints wall times, hosts per second, the processes the lab started and their total RSS.
Usage (as root): python tests/bench/bench_lab_up.py [--hosts 200] [--seed 7] [--subnet 10.215.0.0/16]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from orchestrator.lab import lab_down, lab_status, lab_up
from orchestrator.workspace import init_workspace


def _rss_kib(pids: set[int]) -> int:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def _lab_pids(before: set[int]) -> set[int]:
    now = {int(p) for p in os.listdir("/proc") if p.isdigit()}
    return now - before - {os.getpid()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--subnet", default="10.215.0.0/16")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pindah-bench-") as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        before = {int(p) for p in os.listdir("/proc") if p.isdigit()}
        start = time.perf_counter()
        manifest = lab_up(ws.lab_dir, hosts=args.hosts, seed=args.seed, subnet=args.subnet)
        up = time.perf_counter() - start
        time.sleep(2.0)  # let every service connect before measuring memory
        pids = _lab_pids(before)
        rss_mib = _rss_kib(pids) / 1024
        status = lab_status(ws.lab_dir)
        start = time.perf_counter()
        lab_down(ws.lab_dir)
        down = time.perf_counter() - start
    print(f"lab up   : {args.hosts} hosts in {up:6.1f} s ({args.hosts / up:5.1f} hosts/s; target < 60 s)")
    print(f"lab down : {down:6.1f} s")
    print(f"processes: {len(pids)} started by the lab, RSS total {rss_mib:,.0f} MiB "
          f"({rss_mib / args.hosts:.1f} MiB per host; RSS counts shared pages once per process)")
    print(f"manifest : {len(manifest.hosts)} hosts; status: {status}")


if __name__ == "__main__":
    main()
