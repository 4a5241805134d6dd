"""The lab manifest (``lab.json``): every lab host's ground truth, the cloud endpoints, paths and PIDs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from orchestrator.errors import LabError

SCHEMA_VERSION = 1
MANIFEST_NAME = "lab.json"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabOs(_Model):
    key: str
    id: str
    version_id: str
    name: str
    family: str
    pretty_name: str


class LabDisk(_Model):
    name: str
    size_gb: int


class LabService(_Model):
    name: str          # init script name (/etc/init.d/<name>)
    process: str       # process name (comm) owning the sockets
    port: int          # TCP listen port, 0 = client only
    data_dir: str      # path on the host (under /srv), "" = no data
    connects: tuple[tuple[str, int], ...] = ()  # (target hostname, port) kept connected
    udp_port: int = 0  # UDP port it receives on (an unconnected socket), 0 = none
    udp_connects: tuple[tuple[str, int], ...] = ()  # (target hostname, port): a connected UDP socket each


class LabConnection(_Model):
    target: str        # lab host name
    port: int
    process: str       # local process that owns the connection
    protocol: Literal["tcp", "udp"] = "tcp"  # udp: a connected UDP socket (client side only)


class LabHost(_Model):
    name: str
    address: str
    hostname: str
    os: LabOs
    cpu_count: int
    memory_mb: int
    disks: tuple[LabDisk, ...]
    application: str
    tier: str
    role: str
    environment: str
    site: str
    agency: str
    criticality: str
    services: tuple[LabService, ...]
    connections: tuple[LabConnection, ...]
    instance_id: str = ""
    # "name version arch" per package in the host's own dpkg database; None: no package database in the
    # lab (RPM-family and SUSE hosts), so discovery must report its packages as unknown
    packages: tuple[str, ...] | None = None
    sshd_only: bool = False  # a light host of a large lab: sshd and nothing else runs (services empty)


class LabCloud(_Model):
    ec2_endpoint: str
    s3_endpoint: str
    region: str
    access_key: str
    secret_key: str
    vpc_id: str
    subnet_id: str
    subnet_cidr: str
    image_id: str
    bucket: str


class LabPaths(_Model):
    state_dir: str
    inventory: str
    known_hosts: str
    manifest: str
    private_key: str
    servers_csv: str


class LabManifest(_Model):
    schema_version: int = SCHEMA_VERSION
    seed: int
    host_count: int
    subnet: str
    bridge: str                # the first bridge (gateway address)
    hosts: tuple[LabHost, ...]
    cloud: LabCloud | None
    paths: LabPaths
    pids: dict[str, int]
    bridges: tuple[str, ...] = ()  # every bridge, the first included (more than one above 1023 ports)
    services_on: int | None = None  # only the first N hosts run services; None: all do

    def host(self, name: str) -> LabHost:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)


def write_manifest(state_dir: Path, manifest: LabManifest) -> Path:
    path = state_dir / MANIFEST_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest.model_dump(mode="json"), indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load_manifest(state_dir: Path) -> LabManifest:
    path = state_dir / MANIFEST_NAME
    try:
        manifest = LabManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LabError(f"no lab is up in {state_dir}", hint="run 'pindah lab up --hosts N'") from exc
    except ValidationError as exc:
        raise LabError(f"{path} is not a valid lab manifest: {exc.error_count()} errors",
                       hint="run 'pindah lab down' then 'pindah lab up'") from exc
    if manifest.schema_version != SCHEMA_VERSION:
        raise LabError(f"{path} has schema_version {manifest.schema_version}, expected {SCHEMA_VERSION}",
                       hint="run 'pindah lab down' with the pindah that built it")
    return manifest
