"""Benchmark: pindah discovery against `ansible all -m setup` and a bare-paramiko floor, on one lab.

Builds a lab of N hosts (no cloud), then runs, each in its own child process so that CPU time and peak
RSS are that phase's alone: (1) the floor: paramiko connect + auth + `true` per host, (1b) the same with
pindah's probe script as the one command (read, not parsed), (2) pindah discovery of every host,
(3) `ansible all -m setup`, all at the same concurrency. Prints figures and
ratios, and discovery's memory per host: (peak RSS - RSS of the same imports probing nothing) / hosts,
projected to 2,700 hosts (target: under 1 GB); asserts nothing about time. Usage (as root):
    python tests/bench/bench_discovery.py [--hosts 200] [--forks 50] [--subnet 10.217.0.0/16] [--skip-ansible]
                                          [--skip-floor] [--services-on N]
Past ANSIBLE_MAX_HOSTS hosts the ansible phase is skipped (its memory grows with the hosts: it would
measure the machine, not the tools). The large case (the issue's 2,700-host figure):
    python tests/bench/bench_discovery.py --hosts 2700 --forks 50 --skip-ansible
The lab's memory (``free -m`` used, before and after 'lab up') is printed with the lab up time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import paramiko

ANSIBLE_MAX_HOSTS = 1000


@dataclass(frozen=True)
class Figures:
    name: str
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    ok: int
    failed: int


def _child(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """Run argv; wall seconds, CPU seconds (user+sys, waited-for descendants included), peak RSS MiB, stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=None if "--phase" in argv else subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def floor_phase(inventory: str, forks: int, script: bool = False) -> None:
    """Child: connect + auth + one command on every host, like pindah would (host keys checked).

    The command is `true`, or with ``script`` pindah's own probe script, read to its end and not parsed:
    the same remote work as discovery, so the ratio to it is pindah's own cost (the lab's hosts run their
    probes on the same CPUs as the client, which `true` leaves out).
    """
    from discovery.probes.script import build_script, new_nonce, wrap_for_shell
    from orchestrator.inventory import load_inventory

    command = wrap_for_shell(build_script(new_nonce())) if script else "true"

    hosts = load_inventory(Path(inventory))
    known = paramiko.HostKeys()
    for path in {str(h.known_hosts_file) for h in hosts}:
        known.load(path)  # parsed once, as pindah does

    def one(host: object) -> bool:
        for attempt in range(3):  # the same bounded retry pindah uses: a fair floor
            ok, transient = attempt_once(host)
            if ok or not transient:
                return ok
            time.sleep(0.5 * 2**attempt)
        return False

    def attempt_once(host: object) -> tuple[bool, bool]:
        client = paramiko.SSHClient()
        entry = host.address if host.port == 22 else f"[{host.address}]:{host.port}"  # type: ignore[attr-defined]
        for key_type, key in (known.lookup(entry) or {}).items():
            client.get_host_keys().add(entry, key_type, key)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(host.address, port=host.port, username=host.user,  # type: ignore[attr-defined]
                           key_filename=str(host.key_file), look_for_keys=False,  # type: ignore[attr-defined]
                           allow_agent=False, timeout=20, banner_timeout=20, auth_timeout=20)
            _, out, err = client.exec_command(command, timeout=20)
            out.read()
            err.read()
            return out.channel.recv_exit_status() == 0, False
        except (paramiko.AuthenticationException, paramiko.BadHostKeyException):
            return False, False
        except Exception:
            return False, True
        finally:
            client.close()

    with ThreadPoolExecutor(forks) as pool:
        results = list(pool.map(one, hosts))
    print(f"OK {results.count(True)} FAILED {results.count(False)}")


def pindah_phase(workspace: str, inventory: str, forks: int) -> None:
    import logging

    from orchestrator.discover import discover
    from orchestrator.workspace import Workspace

    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    result = discover(Workspace(Path(workspace)), Path(inventory), forks=forks, timeout=20)
    print(f"OK {len(result.hosts) - len(result.failed)} FAILED {len(result.failed)}")
    print(f"VmHWM {own_peak_mib():.1f}")
    categories = Counter(f.errors[0].category for f in result.failed)
    if categories:
        print(f"pindah failures by category: {dict(categories)}", file=sys.stderr)


def imports_phase() -> None:
    """Child: what the pindah phase imports, probing nothing (the fixed part of its peak RSS)."""
    import logging

    from orchestrator.discover import discover  # noqa: F401 (imported for its memory)
    from orchestrator.workspace import Workspace  # noqa: F401

    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    print("OK 0 FAILED 0")
    print(f"VmHWM {own_peak_mib():.1f}")


def own_peak_mib() -> float:
    """This process's peak RSS since its exec (wait4's figure also counts the parent's pages the child had
    between fork and exec, which hides a child smaller than the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stored_bytes(workspace: Path) -> tuple[int, int]:
    """Hosts in the latest snapshot and the bytes of their stored facts (JSON)."""
    import sqlite3

    with sqlite3.connect(workspace / ".pindah" / "state.db") as conn:
        hosts, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(facts)), 0) FROM host_facts WHERE "
                                   "snapshot_id = (SELECT MAX(id) FROM snapshots)").fetchone()
    return int(hosts), int(size)


def warm_up(inventory: str, forks: int) -> tuple[int, float]:
    """Touch every host's sshd port until all answer (first contact with a fresh lab loses SYNs): phases
    then compare warm paths. Returns the hosts still silent and the seconds spent."""
    import socket

    from orchestrator.inventory import load_inventory

    hosts = load_inventory(Path(inventory))
    started = time.perf_counter()

    def answers(host: object) -> bool:
        try:
            with socket.create_connection((host.address, host.port), timeout=3):  # type: ignore[attr-defined]
                return True
        except OSError:
            return False

    pending = list(hosts)
    for _ in range(5):
        with ThreadPoolExecutor(forks) as pool:
            pending = [h for h, ok in zip(pending, pool.map(answers, pending), strict=True) if not ok]
        if not pending:
            break
    return len(pending), time.perf_counter() - started


def _counts(text: str) -> tuple[int, int]:
    for line in text.splitlines():
        if line.startswith("OK "):
            parts = line.split()
            return int(parts[1]), int(parts[3])
    return 0, 0


def _ansible_counts(text: str) -> tuple[int, int]:
    ok = sum(1 for line in text.splitlines() if " | SUCCESS" in line)
    failed = sum(1 for line in text.splitlines() if " | FAILED" in line or " | UNREACHABLE" in line)
    return ok, failed


def run_phase(name: str, argv: list[str], env: dict[str, str] | None = None) -> Figures:
    wall, cpu, rss, text = _child(argv, env)
    rss = next((float(line.split()[1]) for line in text.splitlines() if line.startswith("VmHWM ")), rss)
    ok, failed = _ansible_counts(text) if name == "ansible -m setup" else _counts(text)
    return Figures(name, wall, cpu, rss, ok, failed)


def _ansible_env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_PYTHON_INTERPRETER": "auto_silent", "ANSIBLE_TIMEOUT": "20",
            "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"), "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "ANSIBLE_ONELINE": "True", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "False"}


def report_memory(hosts: int, figures: list[Figures], stored: tuple[int, int]) -> None:
    by = {f.name: f for f in figures}
    if "pindah discover" not in by or "imports" not in by or not hosts:
        return
    fixed, peak = by["imports"].peak_rss_mib, by["pindah discover"].peak_rss_mib
    per_host = (peak - fixed) / hosts
    print(f"memory: imports {fixed:.0f} MiB, discovery peak {peak:.0f} MiB, {per_host:.3f} MiB/host above the "
          f"imports; projected for 2,700 hosts: {fixed + per_host * 2700:.0f} MiB (target < 1000 MB)")
    if stored[0]:
        print(f"stored facts: {stored[1] / stored[0] / 1024:.0f} KiB/host (JSON) over {stored[0]} hosts")


def used_mib() -> int:
    """Memory in use machine-wide (``free``'s used: total - available), MiB."""
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return (int(info["MemTotal"].split()[0]) - int(info["MemAvailable"].split()[0])) // 1024


def report(hosts: int, forks: int, figures: list[Figures]) -> None:
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\n{hosts} lab hosts, {forks} at once, {os.cpu_count()} CPUs, load average {' '.join(load)}")
    print(f"{'phase':18} {'wall s':>8} {'hosts/s':>8} {'CPU s':>8} {'CPU s/host':>10} {'peak RSS MiB':>12} "
          f"{'ok':>5} {'failed':>6}")
    for f in figures:
        print(f"{f.name:18} {f.seconds:8.1f} {hosts / f.seconds:8.1f} {f.cpu_seconds:8.1f} "
              f"{f.cpu_seconds / hosts:10.3f} {f.peak_rss_mib:12.0f} {f.ok:5} {f.failed:6}")
    by = {f.name: f for f in figures}
    pindah = by.get("pindah discover")
    if pindah and "ansible -m setup" in by:
        print(f"ansible / pindah wall time: {by['ansible -m setup'].seconds / pindah.seconds:.1f}x (target >= 5x)")
    if pindah and "floor" in by:
        print(f"pindah / floor wall time:   {pindah.seconds / by['floor'].seconds:.1f}x (target <= 2x)")
    if pindah and "floor + probes" in by:
        print(f"pindah / floor running the probe script: {pindah.seconds / by['floor + probes'].seconds:.1f}x "
              "(pindah's own cost: same remote work, which the lab's hosts do on the client's CPUs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--subnet", default="10.217.0.0/16")
    parser.add_argument("--skip-ansible", action="store_true")
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--services-on", type=int, default=None,
                        help="hosts that run their services (default: the lab's own default)")
    parser.add_argument("--phase", choices=("floor", "floor-script", "pindah", "imports"), help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    parser.add_argument("--inventory", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase in ("floor", "floor-script"):
        floor_phase(args.inventory, args.forks, script=args.phase == "floor-script")
        return
    if args.phase == "pindah":
        pindah_phase(args.workspace, args.inventory, args.forks)
        return
    if args.phase == "imports":
        imports_phase()
        return
    bench(args)


def bench(args: argparse.Namespace) -> None:
    from orchestrator.lab import lab_down, lab_up
    from orchestrator.workspace import init_workspace

    with tempfile.TemporaryDirectory(prefix="pindah-bench-") as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        before = used_mib()
        started = time.perf_counter()
        manifest = lab_up(ws.lab_dir, hosts=args.hosts, seed=args.seed, subnet=args.subnet, cloud=False,
                          services_on=args.services_on)
        light = sum(1 for h in manifest.hosts if h.sshd_only)
        print(f"lab up: {args.hosts} hosts ({light} sshd only, {len(manifest.bridges)} bridges) in "
              f"{time.perf_counter() - started:.1f}s; memory used {before} -> {used_mib()} MiB")
        time.sleep(3.0)
        inventory = manifest.paths.inventory
        silent, seconds = warm_up(inventory, args.forks)
        print(f"warm-up: every sshd port touched in {seconds:.1f}s ({silent} still silent)")
        me = [sys.executable, __file__, "--forks", str(args.forks), "--inventory", inventory]
        try:
            figures = [] if args.skip_floor else [run_phase("floor", [*me, "--phase", "floor"]),
                                                  run_phase("floor + probes", [*me, "--phase", "floor-script"])]
            figures += [run_phase("imports", [*me, "--phase", "imports"]),
                        run_phase("pindah discover", [*me, "--phase", "pindah", "--workspace", str(ws.root)])]
            if args.hosts > ANSIBLE_MAX_HOSTS and not args.skip_ansible:
                print(f"ansible phase skipped: more than {ANSIBLE_MAX_HOSTS} hosts")
            elif not args.skip_ansible:
                ansible = str(Path(sys.executable).with_name("ansible"))
                figures.append(run_phase("ansible -m setup", [ansible, "all", "-i", inventory, "-m", "setup",
                                                              "-f", str(args.forks), "-o"],
                                         _ansible_env(Path(tmp))))
            print(f"memory used with the lab up, after the phases: {used_mib()} MiB")
        finally:
            started = time.perf_counter()
            lab_down(ws.lab_dir)
            print(f"lab down: {time.perf_counter() - started:.1f}s; memory used {used_mib()} MiB")
        report(args.hosts, args.forks, figures)
        report_memory(args.hosts, figures, stored_bytes(ws.root))


if __name__ == "__main__":
    main()
