"""What the playbooks are told: the extra vars of a wave and the host vars of each server (and its target).

Pure: specs, what earlier phases learned per server, the plan's view of the wave and the run's work
directory in; plain dicts out. ``phase_data`` says what of a phase's outputs is kept for later phases.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.runner.targets import TARGET_SUFFIX, MigrationSpec, connection_vars, rsync_shell, target_endpoint

if TYPE_CHECKING:
    from orchestrator.plan import Plan

BACKUP_ROOT = "pindah-backups"
MARKER_PATH = "/etc/pindah-migrated"
SUPPORTED_OS: dict[str, str] = {  # os-release ID -> lowest VERSION_ID with a rehost path
    "rhel": "6", "centos": "6", "rocky": "8", "almalinux": "8", "ol": "6", "fedora": "30",
    "debian": "8", "ubuntu": "14.04", "sles": "11", "opensuse-leap": "15", "amzn": "2",
}


@dataclass(frozen=True)
class Peer:
    name: str
    address: str
    port: int


@dataclass(frozen=True)
class WaveContext:
    """The plan's view of a wave that the playbooks need beyond each server's inventory entry.

    ``ready``: servers already migrated (done in an earlier run) or moving in this wave; a server's hard
    dependencies (``depends_on``: hard ports, shared services left out) must all be in it (precheck).
    ``dependents``: who connects to each server (validate).
    """

    flavors: Mapping[str, str] = field(default_factory=dict)
    depends_on: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    dependents: Mapping[str, tuple[Peer, ...]] = field(default_factory=dict)
    ready: frozenset[str] = frozenset()
    tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def wave_context(plan: Plan, wave: int, done: Collection[str] = ()) -> WaveContext:
    """The context of ``wave`` of ``plan``; ``done`` are the servers migrated by earlier runs."""
    from orchestrator.plan import PlanRules

    servers = {s.name: s for s in plan.servers}
    members = set(plan.wave(wave).servers)
    # only hard dependencies on regular applications must be in the cloud first, as the planner ordered them;
    # shared services (DNS, LDAP, ...) and soft links stay reachable across the move
    hard_ports = set((plan.rules or PlanRules(max_wave_servers=plan.max_wave_servers)).hard_ports)
    shared = {n for app in plan.applications if app.source == "shared" for n in app.servers}
    depends: dict[str, list[str]] = {}
    dependents: dict[str, list[Peer]] = {}
    for dep in plan.dependencies:  # dep.source connects to dep.target
        if dep.source in members and dep.port in hard_ports and dep.target not in shared:
            depends.setdefault(dep.source, []).append(dep.target)
        # a dependent that moves in this wave or moved before connects from its target's address: only the
        # ones still at their source can be expected to reconnect from the address the plan knows
        if dep.target in members and dep.source in servers and dep.source not in members and dep.source not in done:
            dependents.setdefault(dep.target, []).append(
                Peer(dep.source, servers[dep.source].address or "", dep.port))
    return WaveContext(
        flavors={n: s.flavor for n in members if (s := servers.get(n)) and s.flavor},
        depends_on={n: tuple(sorted(set(d))) for n, d in depends.items()},
        dependents={n: tuple(sorted(set(p), key=lambda x: (x.name, x.port))) for n, p in dependents.items()},
        ready=frozenset(done) | members,
        tags={n: {"pindah:wave": str(wave), "pindah:application": s.application}
              for n in members if (s := servers.get(n))},
    )


def wave_extravars(plan_id: str, wave: int, cloud: Mapping[str, Any]) -> dict[str, Any]:
    return {"pindah_plan": plan_id, "pindah_wave_index": wave, "pindah_cloud": dict(cloud)}


def phase_data(phase: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """What to merge into a server's stored data after ``phase`` succeeded (read back by ``wave_hostvars``)."""
    kept: dict[str, Any] = {phase: dict(outputs)}
    if phase == "precheck":
        kept["source_answers"] = dict(outputs.get("answers") or {})
    elif phase == "provision":
        kept["target"] = {"instance_id": outputs.get("instance_id"), "address": outputs.get("address"),
                          "created": outputs.get("created") in (True, "True", "true")}
    return kept


def wave_hostvars(specs: Mapping[str, MigrationSpec], data: Mapping[str, Mapping[str, Any]], workdir: Path,
                  active: Sequence[str], context: WaveContext | None = None) -> dict[str, dict[str, Any]]:
    """Host vars for every active server and, once provisioned, its ``<name>__target`` host."""
    ctx = context or WaveContext()
    hosts: dict[str, dict[str, Any]] = {}
    for name in active:
        spec = specs[name]
        known = data.get(name) or {}
        target = (known.get("target") or {}).get("address")
        hosts[name] = {**connection_vars(spec.source, spec.python_interpreter),
                       **migration_vars(spec, known, workdir, target),
                       **plan_vars(spec, known, workdir, ctx)}
        if target:
            hosts[name + TARGET_SUFFIX] = connection_vars(target_endpoint(spec, target), spec.python_interpreter)
    return hosts


def migration_vars(spec: MigrationSpec, known: Mapping[str, Any], workdir: Path,
                   target: str | None) -> dict[str, Any]:
    src = spec.source
    staging = workdir / "staging" / spec.name
    answers = dict(known.get("source_answers") or {})
    paths = [f"{d}/" for d in spec.data_dirs] + [f"/etc/init.d/{s.name}" for s in spec.services]
    hv: dict[str, Any] = {
        "pindah_services": [s.model_dump() for s in spec.services],
        "pindah_data_dirs": list(spec.data_dirs),
        "pindah_source_address": src.address, "pindah_source_user": src.user,
        "pindah_source_urls": [_url(src.address, s.port) for s in spec.services],
        "pindah_staging": str(staging),
        "pindah_rsync_source_shell": rsync_shell(src.key_file, src.known_hosts_file, src.port),
        "pindah_pull_sources": [f"{src.user}@{src.address}:{p}" for p in paths],
        "pindah_push_sources": [f"{staging}/.{p}" for p in paths],
        "pindah_target_user": spec.target_user, "pindah_target_port": spec.target_port,
        "pindah_provision_timeout": spec.provision_timeout,
        "pindah_target_known_hosts": spec.target_known_hosts_file or "",
        "pindah_expected_answers": answers,
        "pindah_expected_digests": [str(answers.get(s.name, "")) for s in spec.services],
    }
    if target:
        hv["pindah_target_address"] = target
        hv["pindah_target_urls"] = [_url(target, s.port) for s in spec.services]
        hv["pindah_target_login"] = f"{spec.target_user}@{target}"
        hv["pindah_rsync_target_shell"] = rsync_shell(spec.target_key_file, spec.target_known_hosts_file,
                                                     spec.target_port)
    return hv


def plan_vars(spec: MigrationSpec, known: Mapping[str, Any], workdir: Path, ctx: WaveContext) -> dict[str, Any]:
    """Backup keys, target shape, name record, dependencies: what the phases beyond the copy need."""
    backup = dict(known.get("backup") or {})
    cutover = dict(known.get("cutover") or {})
    depends = list(ctx.depends_on.get(spec.name, ()))
    return {
        "pindah_server": spec.name,
        "pindah_run": workdir.name,
        "pindah_backup_bucket": spec.backup_bucket,
        "pindah_backup_keep": spec.backup_keep,
        "pindah_backup_root": BACKUP_ROOT,
        "pindah_recorded_backup": {"prefix": str(backup.get("prefix") or ""),
                                   "digest": str(backup.get("digest") or "")},
        "pindah_bwlimit_kbps": spec.bwlimit_kbps,
        "pindah_min_free_mb": spec.min_free_mb,
        "pindah_supported_os": dict(SUPPORTED_OS),
        "pindah_needs_sudo": spec.source.user != "root",
        "pindah_target_flavor": ctx.flavors.get(spec.name) or spec.target_flavor or "",
        "pindah_target_image": spec.target_image or "",
        "pindah_target_subnet": spec.target_subnet or "",
        "pindah_target_tags": {**spec.target_tags, **ctx.tags.get(spec.name, {})},
        "pindah_dns_name": spec.dns_name or spec.name,
        "pindah_name_map": spec.name_map or "",
        "pindah_depends_on": depends,
        "pindah_dependencies_missing": [d for d in depends if d not in ctx.ready] if ctx.ready else [],
        "pindah_dependents": [{"name": p.name, "address": p.address, "port": p.port}
                              for p in ctx.dependents.get(spec.name, ()) if p.address],
        "pindah_marker_path": MARKER_PATH,
        "pindah_rollback_target": spec.rollback_target,
        "pindah_cutover_source_digest": str(cutover.get("source_digest") or ""),
        "pindah_instance_id": str((known.get("target") or {}).get("instance_id") or ""),
    }


def _url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}/"
