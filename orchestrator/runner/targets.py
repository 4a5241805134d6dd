"""What to move for each server: the per-host migration spec, built from inventory host vars.

A host declares ``pindah_services`` (a list of ``{name, port}``) and ``pindah_data_dirs`` (absolute
paths). Optional: ``pindah_target_user``, ``pindah_target_port`` (22), ``pindah_target_key_file``,
``pindah_target_known_hosts`` (default: the source's user, key and known_hosts file); the target's
``pindah_target_flavor``, ``pindah_target_image``, ``pindah_target_subnet``, ``pindah_target_tags``
(default: the cloud settings); ``pindah_dns_name`` (the name its dependents use, default the host's
name) and ``pindah_name_map`` (the estate's name record file); ``pindah_backup_bucket``,
``pindah_backup_keep``, ``pindah_bwlimit_kbps``, ``pindah_min_free_mb``, ``pindah_rollback_target``.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orchestrator.errors import InputError, RunError

SERVICE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
DNS_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
TAG_RE = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{1,128}$")
TARGET_SUFFIX = "__target"


class InventoryHostLike(Protocol):
    """The part of ``orchestrator.inventory.InventoryHost`` the runner needs."""

    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def user(self) -> str | None: ...
    @property
    def key_file(self) -> Path | str | None: ...
    @property
    def known_hosts_file(self) -> Path | str | None: ...
    @property
    def vars(self) -> Mapping[str, Any]: ...


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServiceSpec(_Frozen):
    name: str
    port: int = Field(ge=1, le=65535)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not SERVICE_NAME_RE.match(value):
            raise ValueError(f"service name {value!r} is not a plain init script name")
        return value


class SshEndpoint(_Frozen):
    address: str
    port: int = 22
    user: str = "root"
    key_file: str | None = None
    known_hosts_file: str | None = None


class MigrationSpec(_Frozen):
    name: str
    source: SshEndpoint
    services: tuple[ServiceSpec, ...]
    data_dirs: tuple[str, ...]
    target_user: str
    target_port: int = Field(default=22, ge=1, le=65535)
    target_key_file: str | None
    target_known_hosts_file: str | None
    python_interpreter: str = "/usr/bin/python3"
    provision_timeout: int = Field(default=180, ge=10, le=3600)
    target_flavor: str | None = None
    target_image: str | None = None
    target_subnet: str | None = None
    target_tags: dict[str, str] = Field(default_factory=dict)
    dns_name: str = ""
    name_map: str | None = None
    backup_bucket: str = "pindah-backups"
    backup_keep: int = Field(default=0, ge=0, le=1000)
    bwlimit_kbps: int = Field(default=0, ge=0)
    min_free_mb: int = Field(default=100, ge=0)
    rollback_target: str = "terminate"

    @field_validator("dns_name")
    @classmethod
    def _dns(cls, value: str) -> str:
        if value and not DNS_NAME_RE.match(value):
            raise ValueError(f"{value!r} is not a host name")
        return value

    @field_validator("backup_bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not BUCKET_RE.match(value):
            raise ValueError(f"{value!r} is not an S3 bucket name (3-63 of a-z 0-9 . -)")
        return value

    @field_validator("target_tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        for key, tag in value.items():
            if not TAG_RE.match(key) or not TAG_RE.match(tag) or key.startswith("pindah:"):
                raise ValueError(f"tag {key!r}={tag!r} is not allowed (1-128 plain characters, no 'pindah:' keys)")
        return value

    @field_validator("name_map")
    @classmethod
    def _name_map(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"name record file {value!r} must be an absolute path")
        return value

    @field_validator("rollback_target")
    @classmethod
    def _rollback(cls, value: str) -> str:
        if value not in ("terminate", "stop"):
            raise ValueError(f"{value!r} must be 'terminate' or 'stop'")
        return value

    @field_validator("data_dirs")
    @classmethod
    def _absolute(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            norm = posixpath.normpath(path)
            if not path.startswith("/") or norm == "/" or ".." in path.split("/") or "\n" in path:
                raise ValueError(f"data dir {path!r} must be an absolute path below /, without '..'")
        return tuple(posixpath.normpath(p) for p in value)


def _opt(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def spec_from_host(host: InventoryHostLike, *, source: str = "inventory",
                   default_known_hosts: str | None = None) -> MigrationSpec:
    """Build one server's spec from its inventory entry; a malformed host var is an InputError.

    Without a UserKnownHostsFile in the inventory, host keys are checked against ``default_known_hosts``
    (the workspace's file, as discovery does), never against whatever ~/.ssh holds.
    """
    hv = dict(host.vars)
    key, kh = _opt(host.key_file), _opt(host.known_hosts_file) or default_known_hosts
    try:
        return MigrationSpec(
            name=host.name,
            source=SshEndpoint(address=host.address, port=host.port, user=host.user or "root", key_file=key,
                               known_hosts_file=kh),
            services=tuple(ServiceSpec.model_validate(s) for s in hv.get("pindah_services") or ()),
            data_dirs=tuple(str(d) for d in hv.get("pindah_data_dirs") or ()),
            target_user=str(hv.get("pindah_target_user") or host.user or "root"),
            target_port=int(hv.get("pindah_target_port") or 22),
            target_key_file=_opt(hv.get("pindah_target_key_file")) or key,
            target_known_hosts_file=_opt(hv.get("pindah_target_known_hosts")) or kh,
            python_interpreter=str(hv.get("ansible_python_interpreter") or "/usr/bin/python3"),
            provision_timeout=int(hv.get("pindah_provision_timeout") or 180),
            **_target_options(hv), **_migration_options(hv, host.name),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "host vars"
        raise InputError(f"host {host.name}: {where} invalid: {first['msg']}",
                         source=source, hint="pindah_services: [{name: app, port: 8080}], "
                         "pindah_data_dirs: [/srv/app]") from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"host {host.name}: a pindah_* number is not a number ({exc})", source=source,
                         hint="pindah_target_port, pindah_backup_keep, pindah_bwlimit_kbps, pindah_min_free_mb "
                         "and pindah_provision_timeout take whole numbers") from None


def _target_options(hv: Mapping[str, Any]) -> dict[str, Any]:
    tags = hv.get("pindah_target_tags") or {}
    if not isinstance(tags, Mapping):
        tags = {"_": "pindah_target_tags must be a mapping"}  # refused by the validator, naming the var
    return {"target_flavor": _opt(hv.get("pindah_target_flavor")), "target_image": _opt(hv.get("pindah_target_image")),
            "target_subnet": _opt(hv.get("pindah_target_subnet")),
            "target_tags": {str(k): str(v) for k, v in tags.items()}}


def _migration_options(hv: Mapping[str, Any], name: str) -> dict[str, Any]:
    return {"dns_name": str(hv.get("pindah_dns_name") or name), "name_map": _opt(hv.get("pindah_name_map")),
            "backup_bucket": str(hv.get("pindah_backup_bucket") or "pindah-backups"),
            "backup_keep": int(hv.get("pindah_backup_keep") or 0),
            "bwlimit_kbps": int(hv.get("pindah_bwlimit_kbps") or 0),
            "min_free_mb": int(hv.get("pindah_min_free_mb", 100) or 0),
            "rollback_target": str(hv.get("pindah_rollback_target") or "terminate")}


def specs_for_servers(hosts: Iterable[InventoryHostLike], servers: Sequence[str], *,
                      source: str, default_known_hosts: str | None = None) -> list[MigrationSpec]:
    """Specs for ``servers`` (in that order); every server must be in the inventory."""
    by_name = {h.name: h for h in hosts}
    missing = [s for s in servers if s not in by_name]
    if missing:
        raise RunError(f"{len(missing)} wave server(s) not in inventory {source}: {', '.join(missing[:10])}",
                       hint="pass the inventory the plan was made from with -i")
    specs = [spec_from_host(by_name[s], source=source, default_known_hosts=default_known_hosts) for s in servers]
    empty = [s.name for s in specs if not s.services and not s.data_dirs]
    if empty:
        raise RunError(f"{len(empty)} wave server(s) declare nothing to move: {', '.join(empty[:10])}",
                       hint=f"give each host pindah_services ([{{name, port}}]) and pindah_data_dirs "
                       f"([/srv/...]) in {source}")
    return specs


def ssh_options(key_file: str | None, known_hosts: str | None) -> list[str]:
    """OpenSSH options that always verify the host key."""
    opts = ["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"]
    if known_hosts:
        opts += ["-o", f"UserKnownHostsFile={known_hosts}"]
    if key_file:
        opts += ["-o", "IdentitiesOnly=yes", "-i", key_file]
    return opts


def rsync_shell(key_file: str | None, known_hosts: str | None, port: int) -> str:
    """The ``rsync -e`` value: one string that rsync splits itself (quoted per argument)."""
    return shlex.join(["ssh", "-p", str(port), *ssh_options(key_file, known_hosts)])


def connection_vars(endpoint: SshEndpoint, python: str) -> dict[str, Any]:
    hv: dict[str, Any] = {
        "ansible_host": endpoint.address, "ansible_port": endpoint.port, "ansible_user": endpoint.user,
        "ansible_python_interpreter": python,
        # interpreter discovery ("auto") prefers the system python over versioned shims on PATH
        "ansible_interpreter_python_fallback": ["/usr/bin/python3", "python3"],
        "ansible_ssh_common_args": shlex.join(ssh_options(None, endpoint.known_hosts_file)),
    }
    if endpoint.key_file:
        hv["ansible_ssh_private_key_file"] = endpoint.key_file
    return hv


def target_endpoint(spec: MigrationSpec, address: str) -> SshEndpoint:
    return SshEndpoint(address=address, port=spec.target_port, user=spec.target_user, key_file=spec.target_key_file,
                       known_hosts_file=spec.target_known_hosts_file)
