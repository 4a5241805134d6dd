"""Bring the lab estate up and down: the I/O shell around the pure topology."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import LabError
from orchestrator.lab import hosts as labhosts
from orchestrator.lab import layers, limits, names, netns, outputs
from orchestrator.lab.manifest import (
    MANIFEST_NAME,
    LabHost,
    LabManifest,
    LabPaths,
    load_manifest,
    write_manifest,
)
from orchestrator.lab.topology import build_topology

PIDS_FILE = "pids.json"
WORKERS = 24
FULL_HOSTS = 500  # by default, hosts past this many run sshd only (see 'services_on')


@dataclass(frozen=True)
class LabContext:
    state_dir: Path
    tag: str
    subnet: str
    python: str

    @property
    def bridge(self) -> str:
        return netns.bridge_name(self.tag)

    @property
    def private_key(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def authorized_keys(self) -> Path:
        return self.state_dir / "authorized_keys"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    def host_dir(self, name: str) -> Path:
        return self.state_dir / "hosts" / name


def context(state_dir: Path, subnet: str) -> LabContext:
    state = state_dir.resolve()
    return LabContext(state, netns.lab_tag(state), subnet, sys.executable)


def record_pid(state_dir: Path, key: str, pid: int) -> None:
    """Remember a process the lab started, at once, so 'lab down' finds it even after a crash."""
    path = state_dir / PIDS_FILE
    pids = json.loads(path.read_text()) if path.exists() else {}
    pids[key] = pid
    path.write_text(json.dumps(pids, indent=1) + "\n")


def preflight(ctx: LabContext) -> None:
    if not re.fullmatch(r"[A-Za-z0-9._/+-]+", str(ctx.state_dir)):
        raise LabError(f"the lab's state dir {ctx.state_dir} has characters mount options cannot carry",
                       hint="use a workspace path of letters, digits, '.', '_', '-', '/' only")
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network and mount namespaces)", hint="run 'sudo pindah lab up'")
    for tool in ("ip", "unshare", "mount", labhosts.SSHD):
        if shutil.which(tool) is None:
            raise LabError(f"{tool} is not installed", hint="install iproute2, util-linux and openssh-server")
    used = netns.subnet_in_use(ctx.subnet, ctx.bridge)
    if used:
        raise LabError(f"subnet {ctx.subnet} is already routed ({used})",
                       hint="choose another --subnet, or 'pindah lab down' the lab that uses it")


def boot_host(ctx: LabContext, slot: str, host: LabHost) -> tuple[int, str]:
    """Layers, keys, netns and sshd for one host; returns (sshd pid, public host key)."""
    hdir = ctx.host_dir(host.name)
    hdir.mkdir(parents=True, exist_ok=True)
    (hdir / "slot").write_text(slot + "\n")
    layers.write_layers(hdir, host, ctx.python)
    ssh_dir = hdir / "layer" / "etc" / "ssh"  # the host's /etc/ssh (merged over the machine's)
    ssh_dir.mkdir(exist_ok=True)
    os.setxattr(ssh_dir, "trusted.overlay.opaque", b"y")  # not the machine's own host keys
    public = labhosts.generate_key(ssh_dir / "ssh_host_ed25519_key", f"root@{host.hostname}")
    (ssh_dir / "sshd_config").write_text(labhosts.sshd_config(host, ctx.authorized_keys))
    ns = netns.netns_name(ctx.tag, slot)
    return labhosts.start_host(hdir, ns, host, ctx.python, ctx.subnet), public


def boot_hosts(ctx: LabContext, hosts: tuple[LabHost, ...],
               bridges: list[int] | None = None) -> dict[str, tuple[int, str]]:
    names.write(names.names_file(ctx.state_dir), {h.hostname: h.address for h in hosts})
    netns.create_host_nets(ctx.tag, [str(i) for i in range(len(hosts))], bridges)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {h.name: pool.submit(boot_host, ctx, str(i), h) for i, h in enumerate(hosts)}
        return {name: f.result() for name, f in futures.items()}


def write_outputs(ctx: LabContext, hosts: tuple[LabHost, ...], keys: dict[str, str],
                  bucket: str | None = None) -> LabPaths:
    paths = LabPaths(state_dir=str(ctx.state_dir), inventory=str(ctx.state_dir / "inventory.yml"),
                     known_hosts=str(ctx.known_hosts), manifest=str(ctx.state_dir / MANIFEST_NAME),
                     private_key=str(ctx.private_key), servers_csv=str(ctx.state_dir / "servers.csv"))
    with ctx.known_hosts.open("a", encoding="utf-8") as fh:
        fh.writelines(outputs.known_hosts_line(h.address, keys[h.name]) for h in hosts)
    migration: dict[str, object] = {"pindah_name_map": str(names.names_file(ctx.state_dir))}
    if bucket:
        migration["pindah_backup_bucket"] = bucket
    Path(paths.inventory).write_text(outputs.inventory(hosts, ctx.private_key, ctx.known_hosts, migration))
    Path(paths.servers_csv).write_text(outputs.servers_csv(hosts))
    return paths


def existing(state_dir: Path) -> LabManifest | None:
    """The manifest of the lab up in ``state_dir``, or None."""
    if not (state_dir / MANIFEST_NAME).exists():
        return None
    return load_manifest(state_dir)


def lab_up(state_dir: Path, hosts: int, seed: int = 7, subnet: str = "10.213.0.0/16",
           *, cloud: bool = True, services_on: int | None = None,
           ports_per_bridge: int = netns.PORTS_PER_BRIDGE) -> LabManifest:
    """Build the estate (idempotent for the same hosts/seed/subnet); raise LabError if another lab is up.

    ``services_on``: only the first N hosts run their services, the rest sshd only (default: the first
    ``FULL_HOSTS``, so every host of a lab that size or smaller). ``ports_per_bridge`` caps the ports per
    bridge (the kernel's limit by default; tests lower it to cross the bridge boundary with few hosts).
    """
    if services_on is not None and services_on < 0:
        raise LabError(f"--services-on must be 0 or more, got {services_on}", hint="e.g. --services-on 200")
    full = min(hosts, FULL_HOSTS if services_on is None else services_on)
    current = existing(state_dir)
    if current is not None:
        if (current.host_count, current.seed, current.subnet,
                current.host_count if current.services_on is None else current.services_on) == (hosts, seed,
                                                                                                subnet, full):
            return current
        raise LabError(f"a lab is already up in {state_dir} ({current.host_count} hosts, seed {current.seed}, "
                       f"subnet {current.subnet})", hint="run 'pindah lab down' first")
    ctx = context(state_dir, subnet)
    lab_down(state_dir)  # leftovers of a crashed 'lab up'
    preflight(ctx)
    topology = build_topology(seed, hosts, subnet, full)
    plan = netns.bridge_plan(hosts, ports_per_bridge)
    try:
        return _build(ctx, topology, seed, cloud, plan=plan, services_on=full)
    except BaseException as exc:
        lab_down(state_dir)
        hint = "the half-built lab was removed; fix the cause and run 'pindah lab up' again"
        if not isinstance(exc, Exception):
            raise  # interrupted: cleaned up, keep the interrupt
        if isinstance(exc, LabError):
            raise LabError(exc.message, hint=hint) from exc
        raise LabError(f"lab up failed: {exc}", hint=hint) from exc


def _build(ctx: LabContext, topology: tuple[LabHost, ...], seed: int, cloud: bool, *, plan: list[int],
           services_on: int) -> LabManifest:
    ctx.state_dir.mkdir(parents=True, exist_ok=True)
    limits.raise_limits(ctx.state_dir, len(topology))
    client = labhosts.generate_key(ctx.private_key, "pindah-lab")
    ctx.authorized_keys.write_text(client + "\n")
    ctx.known_hosts.write_text("")
    bridges = netns.create_bridges(ctx.tag, ctx.subnet, max(plan) + 1)
    with ThreadPoolExecutor(max_workers=1) as side:
        from orchestrator.lab import cloud as labcloud

        cloud_future = side.submit(labcloud.start_cloud, ctx) if cloud else None
        try:
            booted = boot_hosts(ctx, topology, plan)
        finally:
            lab_cloud, cloud_pids = cloud_future.result() if cloud_future else (None, {})
    pids = {f"sshd:{name}": pid for name, (pid, _) in booted.items()} | cloud_pids
    paths = write_outputs(ctx, topology, {name: key for name, (_, key) in booted.items()},
                          lab_cloud.bucket if lab_cloud else None)
    manifest = LabManifest(seed=seed, host_count=len(topology), subnet=ctx.subnet, bridge=ctx.bridge,
                           hosts=topology, cloud=lab_cloud, paths=paths, pids=pids, bridges=tuple(bridges),
                           services_on=services_on)
    write_manifest(ctx.state_dir, manifest)
    return manifest


def lab_down(state_dir: Path) -> None:
    """Stop everything the lab started (by PID and by namespace), delete its devices and its state dir."""
    state = state_dir.resolve()
    tag = netns.lab_tag(state)
    pids_path = state / PIDS_FILE
    if pids_path.exists():
        from orchestrator.lab import cloud as labcloud
        labcloud.stop_processes(json.loads(pids_path.read_text()))
    namespaces = netns.lab_netns(tag)
    labhosts.kill_netns(namespaces)
    netns.batch([f"netns del {ns}" for ns in namespaces])
    netns.batch([f"link del {link}" for link in netns.lab_links(tag)])
    limits.restore_limits(state)
    if state.exists():
        subprocess.run(["rm", "-rf", "--one-file-system", str(state)], check=False)
    if state.exists():
        raise LabError(f"could not remove {state}", hint="check for processes still using it, then retry")
