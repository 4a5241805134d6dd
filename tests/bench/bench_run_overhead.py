"""Benchmark: orchestration overhead of `pindah run` against plain `ansible-playbook`, same run, same hosts.

The shipped precheck.yml on N lab hosts, alternately through pindah (run_wave: plan, store, lock, approval
gate, ansible-runner, events, every transition committed) and through `ansible-playbook` with the very
inventory and extra vars pindah generated. Prints the median of each and the ratio (target <= 1.10x).
Usage (as root, from the repository root): python -m tests.bench.bench_run_overhead [--hosts 30] [--rounds 3] [--forks 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orchestrator.cloud import load_cloud_settings
from orchestrator.lab import lab_down, lab_up
from orchestrator.plan import dump_plan, load_plan
from orchestrator.runner.hostvars import wave_extravars
from orchestrator.runner.service import PLAYBOOKS_ENV, RunOptions, cloud_vars, run_wave
from orchestrator.runner.shipped import playbooks_dir
from orchestrator.runner.states import Phase
from orchestrator.workspace import Workspace, init_workspace
from tests.integration.conftest import Lab
from tests.integration.test_run_wave import PLAN_ID, migration_inventory, write_plan


def _precheck_only(target: Path) -> Path:
    """The shipped playbooks without the phases after precheck: pindah skips those, so both run the same."""
    shutil.copytree(playbooks_dir(), target)
    for phase in Phase:
        if phase is not Phase.PRECHECK:
            (target / phase.playbook).unlink(missing_ok=True)
    return target


def _through_pindah(ws: Workspace, inventory: Path, round_no: int, forks: int) -> tuple[float, Path]:
    plan = load_plan(ws.plans_dir, PLAN_ID)
    plan_id = f"{PLAN_ID}-{round_no}"
    (ws.plans_dir / f"{plan_id}.yaml").write_text(dump_plan(plan.model_copy(update={"id": plan_id})))
    started = time.perf_counter()
    result = run_wave(ws, RunOptions(plan_id, 1, inventory=inventory, forks=forks, force_reason="benchmark"))
    took = time.perf_counter() - started
    assert not result.failed, result.errors
    hosts_file = ws.runs_dir / str(result.run_id) / "ansible" / "precheck" / "inventory" / "hosts.json"
    assert hosts_file.is_file(), hosts_file
    return took, hosts_file


def _through_ansible(ws: Workspace, books: Path, hosts_file: Path, forks: int, work: Path,
                     servers: list[str]) -> float:
    cloud = load_cloud_settings(ws)
    extra = work / "extravars.json"
    extra.write_text(json.dumps(wave_extravars(PLAN_ID, 1, cloud_vars(cloud))))
    env = {**os.environ, **cloud.credential_env(), "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_PIPELINING": "True",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_PYTHON_INTERPRETER": "auto_silent", "ANSIBLE_TIMEOUT": "20",
           "ANSIBLE_SSH_RETRIES": "2", "ANSIBLE_LOCAL_TEMP": str(work / "tmp"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(hosts_file),
                           "-e", f"@{extra}", "--forks", str(forks), "precheck.yml"], cwd=books, env=env,
                          capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    assert done.returncode == 0, done.stdout[-2000:]
    recap = [line.split()[0] for line in done.stdout.splitlines() if " ok=" in line and "failed=0" in line]
    assert sorted(recap) == sorted(servers), f"ansible-playbook did not run on every server: {recap}"
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--forks", type=int, default=30)
    parser.add_argument("--subnet", default="10.217.0.0/16")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pindah-bench-") as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        manifest = lab_up(ws.lab_dir, hosts=args.hosts, seed=5, subnet=args.subnet)
        try:
            lab = Lab(ws, manifest)
            movable = [h.name for h in manifest.hosts if any(s.port and s.data_dir for s in h.services)]
            inventory = migration_inventory(lab, Path(tmp) / "inventory.yml", set())
            write_plan(lab, movable)
            books = _precheck_only(Path(tmp) / "books")
            os.environ[PLAYBOOKS_ENV] = str(books)
            pindah, plain = [], []
            _, hosts_file = _through_pindah(ws, inventory, 0, args.forks)  # warm-up: SSH control sockets
            for round_no in range(1, args.rounds + 1):  # alternate which goes first
                if round_no % 2:
                    plain.append(_through_ansible(ws, books, hosts_file, args.forks, Path(tmp), movable))
                took, hosts_file = _through_pindah(ws, inventory, round_no, args.forks)
                pindah.append(took)
                if not round_no % 2:
                    plain.append(_through_ansible(ws, books, hosts_file, args.forks, Path(tmp), movable))
        finally:
            lab_down(ws.lab_dir)
    ours, theirs = statistics.median(pindah), statistics.median(plain)
    print(f"hosts     : {len(movable)} lab servers, precheck.yml, forks {args.forks}, {args.rounds} rounds")
    print(f"pindah    : median {ours:.2f} s  ({', '.join(f'{t:.2f}' for t in pindah)})")
    print(f"ansible   : median {theirs:.2f} s  ({', '.join(f'{t:.2f}' for t in plain)})")
    print(f"overhead  : {ours / theirs:.3f}x (target <= 1.10x), {ours - theirs:+.2f} s")


if __name__ == "__main__":
    main()
