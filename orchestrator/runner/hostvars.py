"""What the playbooks are told: the extra vars of a wave and the host vars of each server (and its target).

Pure: specs, what earlier phases learned per server, and the run's work directory in; plain dicts out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from orchestrator.runner.targets import TARGET_SUFFIX, MigrationSpec, connection_vars, rsync_shell, target_endpoint


def wave_extravars(plan_id: str, wave: int, cloud: Mapping[str, Any]) -> dict[str, Any]:
    return {"pindah_plan": plan_id, "pindah_wave_index": wave, "pindah_cloud": dict(cloud)}


def wave_hostvars(specs: Mapping[str, MigrationSpec], data: Mapping[str, Mapping[str, Any]], workdir: Path,
                  active: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Host vars for every active server and, once provisioned, its ``<name>-target`` host."""
    hosts: dict[str, dict[str, Any]] = {}
    for name in active:
        spec = specs[name]
        known = data.get(name) or {}
        target = (known.get("target") or {}).get("address")
        hosts[name] = {**connection_vars(spec.source, spec.python_interpreter),
                       **migration_vars(spec, known, workdir, target)}
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


def _url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}/"
