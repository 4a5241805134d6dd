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
    completeness: dict[str, Completeness] = Field(default_factory=dict)
    errors: tuple[FactError, ...] = ()
    collected_at: datetime | None = None
