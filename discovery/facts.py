"""HostFacts: what one probe run saw on one host. Frozen pydantic models; the one owner of this type."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Completeness(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    FAILED = "failed"


class OsInfo(Frozen):
    id: str
    version_id: str
    name: str
    family: str
    pretty_name: str = ""


class CpuInfo(Frozen):
    count: int
    model: str = ""


class Disk(Frozen):
    name: str
    size_gb: float


class Listener(Frozen):
    port: int
    protocol: Literal["tcp", "udp"] = "tcp"
    address: str
    process: str | None = None


class Connection(Frozen):
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    process: str | None = None
    direction: Literal["inbound", "outbound"]
    protocol: Literal["tcp", "udp"] = "tcp"  # udp: a connected UDP socket


class Package(Frozen):
    name: str
    version: str = ""
    arch: str = ""
    manager: Literal["rpm", "dpkg"] = "rpm"


class Service(Frozen):
    """A system service: ``active`` is whether it runs now, ``enabled`` whether it starts at boot (None: unknown)."""

    name: str
    manager: Literal["systemd", "sysv"] = "systemd"
    active: bool | None = None
    enabled: bool | None = None
    state: str = ""


class Interface(Frozen):
    name: str
    addresses: tuple[str, ...] = ()  # CIDR, e.g. 10.0.0.5/24
    mac: str | None = None
    up: bool | None = None


class Mount(Frozen):
    device: str
    mountpoint: str
    fstype: str = ""
    size_mb: int = 0
    used_mb: int = 0
    available_mb: int = 0
    use_percent: int | None = None


class CronJob(Frozen):
    schedule: str
    command: str
    user: str | None = None
    source: str = ""


class EolInfo(Frozen):
    """End of (standard) support of the OS release: ``status`` is supported, eol or unknown."""

    status: Literal["supported", "eol", "unknown"] = "unknown"
    date: str | None = None  # ISO date


class Middleware(Frozen):
    """A recognised web server, database or runtime, found in packages and/or running processes."""

    kind: str  # nginx, httpd, postgres, mysql, oracle, java, php, python, node, ...
    version: str | None = None
    evidence: tuple[str, ...] = ()  # "package:nginx-1.22", "process:nginx"


class ObservedConnection(Frozen):
    """One connection seen over repeated samples. Outbound: keyed by remote endpoint and process (the local
    port is ephemeral); inbound: by the local (service) port, the remote address and the process."""

    direction: Literal["inbound", "outbound"]
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    process: str | None = None
    observations: int = 1
    first_seen: datetime
    last_seen: datetime
    protocol: Literal["tcp", "udp"] = "tcp"


class UtilisationSample(Frozen):
    """Rates over one interval between two samples (CPU busy %, memory used % at its end, kB/s)."""

    at: datetime
    seconds: float
    cpu_percent: float | None = None
    memory_used_percent: float | None = None
    disk_read_kbps: float | None = None
    disk_write_kbps: float | None = None
    net_rx_kbps: float | None = None
    net_tx_kbps: float | None = None


class Utilisation(Frozen):
    """Every interval's rates and their peak (the per-field maximum over the intervals), for sizing."""

    intervals: tuple[UtilisationSample, ...] = ()
    peak: UtilisationSample | None = None


class FactError(Frozen):
    """One thing that went wrong: a whole host (fact == "host") or one fact."""

    fact: str
    category: str
    message: str
    hint: str = ""


class HostFacts(Frozen):
    schema_version: int = SCHEMA_VERSION
    name: str
    address: str
    reachable: bool
    hostname: str | None = None
    os: OsInfo | None = None
    cpu: CpuInfo | None = None
    memory_mb: int | None = None
    disks: tuple[Disk, ...] = ()
    listening: tuple[Listener, ...] = ()
    connections: tuple[Connection, ...] = ()
    packages: tuple[Package, ...] = ()
    services: tuple[Service, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    default_gateway: str | None = None
    dns_servers: tuple[str, ...] = ()
    mounts: tuple[Mount, ...] = ()
    cron_jobs: tuple[CronJob, ...] = ()
    virtualization: str | None = None  # kvm, vmware, xen, microsoft, oracle, lxc, docker, ..., "none" (physical)
    eol: EolInfo | None = None
    middleware: tuple[Middleware, ...] = ()
    processes: tuple[str, ...] = ()  # distinct command names seen running
    samples: int = 0  # how many times connections/utilisation were polled (0: not polled)
    observed_connections: tuple[ObservedConnection, ...] = ()
    utilisation: Utilisation | None = None
    completeness: dict[str, Completeness] = Field(default_factory=dict)
    errors: tuple[FactError, ...] = ()
    collected_at: datetime | None = None
