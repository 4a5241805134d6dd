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

PLAN_SCHEMA_VERSION = 1
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
    strategy: str = "rehost"  # rehost | replatform | retire
    strategy_reason: str = ""
    flavor: str | None = None  # cheapest fitting catalog flavor (as-is sizing), when a catalog is given
    monthly_cost: float | None = None  # flavor + disk, in the catalog's currency
    sizing_confidence: int | None = None  # 1-5: how much of cpu/memory/disk/os/discovery is known
    sizing_reason: str = ""


class Wave(Frozen):
    index: int
    servers: tuple[str, ...]
    applications: tuple[str, ...]
    reason: str = ""
    max_servers: int | None = None  # this wave's server limit (the pilot and ramp waves have smaller ones)
    storage_gb: float | None = None
    pilot: bool = False
    monthly_cost: float | None = None


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
    if not isinstance(raw, dict) or raw.get("schema_version") != PLAN_SCHEMA_VERSION:
        raise PlanError(f"{path} is not a pindah plan of schema {PLAN_SCHEMA_VERSION}",
                        hint="re-create it with 'pindah plan create'")
    try:
        return Plan.model_validate(raw)
    except ValidationError as exc:
        raise PlanError(f"{path} does not match the plan schema: {exc.error_count()} error(s), first: "
                        f"{exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}",
                        hint="re-create it with 'pindah plan create'") from exc
