"""Benchmark: one whole wave on the lab, end to end (every phase, real sshd hosts, moto, rsync).

Prints the wall time, the per-server median and spread (first phase start to last phase end), the peak RSS
of pindah and of its children (ansible), and the outcome per state.
Usage (as root, from the repository root): python -m tests.bench.bench_run_wave [--hosts 200] [--forks 50] [--max-parallel N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from orchestrator.lab import lab_down, lab_up
from orchestrator.runner.service import RunOptions, run_wave, server_status
from orchestrator.workspace import init_workspace
from tests.integration.conftest import Lab
from tests.integration.test_run_wave import PLAN_ID, migration_inventory, restore_lab, write_plan


def _server_seconds(row: dict[str, object]) -> float | None:
    phases = row["phases"]
    assert isinstance(phases, dict)
    starts = [p["started"] for p in phases.values() if p.get("started")]
    ends = [p["ended"] for p in phases.values() if p.get("ended")]
    return max(ends) - min(starts) if starts and ends else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--max-parallel", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--subnet", default="10.216.0.0/16")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pindah-bench-") as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        started = time.perf_counter()
        manifest = lab_up(ws.lab_dir, hosts=args.hosts, seed=args.seed, subnet=args.subnet)
        print(f"lab up    : {args.hosts} hosts in {time.perf_counter() - started:.1f} s")
        lab = Lab(ws, manifest)
        try:
            movable = [h.name for h in manifest.hosts if any(s.port and s.data_dir for s in h.services)]
            inventory = migration_inventory(lab, Path(tmp) / "inventory.yml", set())
            write_plan(lab, movable)
            options = RunOptions(PLAN_ID, 1, inventory=inventory, forks=args.forks,
                                 max_parallel=args.max_parallel, force_reason="benchmark")
            started = time.perf_counter()
            result = run_wave(ws, options)
            wall = time.perf_counter() - started
            rows = server_status(ws, PLAN_ID)
            restore_lab(lab, PLAN_ID, movable)
        finally:
            lab_down(ws.lab_dir)
    per_server = [s for s in (_server_seconds(r) for r in rows) if s is not None]
    counts: dict[str, int] = {}
    for state in result.states.values():
        counts[state.value] = counts.get(state.value, 0) + 1
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"wave      : {len(movable)} servers (of {args.hosts} lab hosts; the rest run no data service), "
          f"forks {args.forks}, max-parallel {args.max_parallel or 'none'}")
    print(f"wall time : {wall:.1f} s ({wall / max(1, len(movable)):.2f} s per server)")
    if per_server:
        q = statistics.quantiles(per_server, n=10) if len(per_server) > 1 else per_server
        print(f"per server: median {statistics.median(per_server):.1f} s, p10 {q[0]:.1f} s, p90 {q[-1]:.1f} s")
    print(f"peak RSS  : pindah {own:.0f} MiB, largest child (ansible or a lab daemon) {children:.0f} MiB")
    print(f"outcome   : {counts} (run status {result.status})")
    for name in result.failed[:10]:
        print(f"  {name}: {result.errors.get(name, '')[:200]}")


if __name__ == "__main__":
    main()
