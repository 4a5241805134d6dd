"""The Plan: the reviewable file between planning and running. One owner of this type.

Serialised as YAML with stable ordering (``plans/<id>.yaml``) so a diff reviews well; it carries
the digest of the inputs it was built from.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from orchestrator.errors import PlanError

PLAN_SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)  # a schema-1 plan reads as schema 2 with the new fields empty
# libyaml's emitter/parser when PyYAML was built with it: same output, several times faster
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PLAN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlannedServer(Frozen):
    name: str
    address: str | None = None
    application: str
    wave: int
    environment: str | None = None
    site: str | None = None
    role: str | None = None
    disk_gb: float | None = None
    reason: str
    reasons: tuple[str, ...] = ()  # plain-words reasons for its wave, what `pindah plan explain` prints
    strategy: str = "rehost"  # rehost | replatform | retire | retain | consolidate
    strategy_reason: str = ""
    flavor: str | None = None  # cheapest fitting catalog flavor, when a catalog is given
    monthly_cost: float | None = None  # flavor + disk, in the catalog's currency
    sizing_confidence: int | None = None  # 1-5: how complete the sizing data is
    sizing_reason: str = ""
    sizing_method: str | None = None  # "utilisation" (samples) | "as-is"
    vcpu: int | None = None  # target vCPUs / memory (the flavor's, else as-is)
    memory_gb: float | None = None
    data_gb: float | None = None  # data to replicate (used space, else disk size)
    zone: str | None = None  # target cloud zone


class SiteReplication(Frozen):
    site: str
    data_gb: float
    mbps: float | None  # None: no bandwidth known for the site
    hours: float | None


class ZoneUse(Frozen):
    """What a wave takes of a target zone, and the zone's limits for the wave's period."""

    zone: str
    period: str  # "wave N" or "YYYY-MM"
    servers: int
    vcpu: int
    memory_gb: float
    max_servers: int | None = None
    max_vcpu: int | None = None
    max_memory_gb: float | None = None


class Wave(Frozen):
    index: int
    servers: tuple[str, ...]
    applications: tuple[str, ...]
    reason: str = ""
    max_servers: int | None = None  # this wave's server limit (the pilot and ramp waves have smaller ones)
    storage_gb: float | None = None
    pilot: bool = False
    monthly_cost: float | None = None
    start: str | None = None  # ISO date of the wave's first day (with a calendar)
    end: str | None = None  # ISO date of its last day
    window_hours: float | None = None  # hours between start and end (whole days)
    data_gb: float | None = None  # data to replicate in the wave
    replication_hours: float | None = None  # slowest site's data / bandwidth (sites replicate in parallel)
    replication_by_site: tuple[SiteReplication, ...] = ()
    zone_use: tuple[ZoneUse, ...] = ()


class Freeze(Frozen):
    """A change freeze: the servers it covers may not move in a wave whose dates overlap it."""

    name: str
    start: str  # ISO dates, both included
    end: str
    agencies: tuple[str, ...] = ()
    applications: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()  # none of the four given: every server


class Zone(Frozen):
    """Target cloud capacity for new servers in one zone per period (``wave`` or calendar ``month``)."""

    name: str
    sites: tuple[str, ...] = ()  # source sites whose servers land here; none: every server no other zone takes
    max_servers: int | None = None
    max_vcpu: int | None = None
    max_memory_gb: float | None = None
    per: str = "wave"  # "wave" | "month"


class GroupSplit(Frozen):
    """Servers taken out of an application into a move group of their own."""

    application: str
    name: str
    servers: tuple[str, ...]


class PlanRules(Frozen):
    """The wave constraints a plan was built under (pindah.toml [plan], recorded in the plan)."""

    max_wave_servers: int
    max_wave_storage_gb: float | None = None
    pilot_servers: int = 0
    pilot_criticality: tuple[str, ...] = ("low",)
    ramp: tuple[int, ...] = ()
    separate_environments: bool = False
    hard_ports: tuple[int, ...] = (1433, 1521, 2049, 3306, 5432, 6379, 9042, 27017)
    pins: tuple[tuple[str, int], ...] = ()
    anti_affinity: tuple[tuple[str, ...], ...] = ()
    merge: tuple[tuple[str, ...], ...] = ()  # applications that move as one group
    split: tuple[GroupSplit, ...] = ()
    start_date: str | None = None  # ISO date of wave 1 (calendar)
    wave_days: int = 7  # cadence: each wave's window, back to back
    windows: tuple[tuple[str, str], ...] = ()  # explicit (start, end) per wave; later waves follow the cadence
    end_date: str | None = None  # the last wave must end by this date
    freezes: tuple[Freeze, ...] = ()
    bandwidth_mbps: tuple[tuple[str, float], ...] = ()  # site -> Mbit/s for replication
    default_bandwidth_mbps: float | None = None
    zones: tuple[Zone, ...] = ()
    sizing_percentile: float = 95.0
    sizing_comfort: float = 1.3
    sizing_min_samples: int = 12
    strategy: tuple[tuple[str, str], ...] = ()  # server or application -> strategy


class Application(Frozen):
    name: str
    servers: tuple[str, ...]
    wave: int
    source: str  # "imported" | "inferred" | "shared"
    reason: str


class PlanDependency(Frozen):
    source: str
    target: str
    port: int
    weight: float
    kind: str  # "observed" | "declared"


class ExternalDependency(Frozen):
    """Outbound connections from a planned server to an address that is no known server."""

    source: str
    address: str
    port: int
    count: int


class Plan(Frozen):
    schema_version: int = PLAN_SCHEMA_VERSION
    id: str
    created_at: str
    input_digest: str
    max_wave_servers: int
    waves: tuple[Wave, ...]
    oversized: tuple[str, ...]
    applications: tuple[Application, ...]
    servers: tuple[PlannedServer, ...]
    dependencies: tuple[PlanDependency, ...]
    cross_wave_weight: float
    notes: tuple[str, ...] = ()
    external: tuple[ExternalDependency, ...] = ()
    rules: PlanRules | None = None
    currency: str | None = None
    monthly_cost: float | None = None
    monthly_cost_by_month: tuple[tuple[str, float], ...] = ()  # calendar month -> run-rate once its waves moved

    def wave(self, index: int) -> Wave:
        for wave in self.waves:
            if wave.index == index:
                return wave
        raise PlanError(f"plan {self.id} has no wave {index}",
                        hint=f"waves are 1..{len(self.waves)}; see 'pindah plan show {self.id}'")

    def server(self, name: str) -> PlannedServer:
        for server in self.servers:
            if server.name == name:
                return server
        raise PlanError(f"plan {self.id} has no server {name!r}")


def validate_plan_id(plan_id: str) -> str:
    if not PLAN_ID_RE.match(plan_id):
        raise PlanError(f"invalid plan id {plan_id!r}",
                        hint="use letters, digits, '.', '_' or '-' (at most 64, not starting with a dot)")
    return plan_id


def plan_path(plans_dir: Path, plan_id: str) -> Path:
    return plans_dir / f"{validate_plan_id(plan_id)}.yaml"


def dump_plan(plan: Plan) -> str:
    """YAML with a stable key order (the model's field order) and stable list order."""
    return yaml.dump(plan.model_dump(mode="json"), Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100)


def load_plan(plans_dir: Path, plan_id: str) -> Plan:
    path = plan_path(plans_dir, plan_id)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 (a safe loader)
    except FileNotFoundError as exc:
        known = sorted(p.stem for p in plans_dir.glob("*.yaml"))
        raise PlanError(f"no plan {plan_id!r} in {plans_dir}",
                        hint=f"known plans: {', '.join(known) or 'none'}; create one with 'pindah plan create'"
                        ) from exc
    except yaml.YAMLError as exc:
        raise PlanError(f"{path} is not valid YAML: {exc}", hint="restore the file from version control") from exc
    if not isinstance(raw, dict) or raw.get("schema_version") not in READABLE_SCHEMAS:
        found = raw.get("schema_version") if isinstance(raw, dict) else None
        raise PlanError(f"{path} is not a pindah plan of schema {'/'.join(map(str, READABLE_SCHEMAS))} "
                        f"(schema_version: {found!r})",
                        hint="re-create it with 'pindah plan create' (a newer pindah wrote it if the number is "
                             "higher: upgrade pindah)")
    try:
        return Plan.model_validate(raw)
    except ValidationError as exc:
        raise PlanError(f"{path} does not match the plan schema: {exc.error_count()} error(s), first: "
                        f"{exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}",
                        hint="re-create it with 'pindah plan create'") from exc
