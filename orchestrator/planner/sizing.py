"""Right-sizing and monthly cost per server. Pure: catalog, rules and inputs in, decisions out.

Performance-based when discovery sampled the server: the needed vCPUs are its CPU count times the chosen
percentile (default the 95th) of its CPU busy % times a comfort factor (default 1.3), rounded up; the needed
memory likewise from its memory used %. The cheapest flavor of the national cloud's catalog
(``catalog.yaml`` in the workspace) with at least that many vCPUs and that much memory is chosen, and its disk
is priced at the catalog's default disk type. Without samples the server is sized as it is (its CPU count and
memory). Confidence 1-5 rates the data: 5 enough samples of CPU and memory (``sizing_min_samples``) and a
known disk; 4 enough samples but no disk, or too few samples; 3 as-is with CPU, memory and disk known from
discovery; 2 as-is with CPU and memory known; 1 guessed.

catalog.yaml::

    currency: IDR
    flavors:
      - {name: s2.medium, vcpu: 2, memory_gb: 4, price_month: 450000}
    disk_types:
      - {name: standard, price_gb_month: 1500}     # the first one is the default
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from orchestrator.errors import InputError
from orchestrator.planner.inputs import ServerInput

DEFAULT_PERCENTILE = 95.0
DEFAULT_COMFORT = 1.3
DEFAULT_MIN_SAMPLES = 12


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Flavor(Frozen):
    name: str
    vcpu: int
    memory_gb: float
    price_month: float


class DiskType(Frozen):
    name: str
    price_gb_month: float


class Catalog(Frozen):
    currency: str = "IDR"
    flavors: tuple[Flavor, ...]
    disk_types: tuple[DiskType, ...]


class Sizing(Frozen):
    flavor: str | None
    disk_type: str | None
    monthly_cost: float | None
    confidence: int
    reason: str
    method: str = "as-is"  # "utilisation" | "as-is"
    vcpu: int = 1  # of the chosen flavor (what the server takes in its zone), else what it needs
    memory_gb: float = 1.0


class SizingRules(Frozen):
    percentile: float = DEFAULT_PERCENTILE
    comfort: float = DEFAULT_COMFORT
    min_samples: int = DEFAULT_MIN_SAMPLES


def load_catalog(path: Path) -> Catalog | None:
    """The workspace catalog, or None when there is none."""
    if not path.is_file():
        return None
    try:
        catalog = Catalog.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {exc}", source=str(path), line=mark.line + 1 if mark else None,
                         hint="fix the file; docs/planning.md shows the format") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"does not match the catalog format: {first['loc']}: {first['msg']}", source=str(path),
                         hint="flavors need name, vcpu, memory_gb, price_month; disk_types name, price_gb_month"
                         ) from exc
    if not catalog.flavors or not catalog.disk_types:
        raise InputError("needs at least one flavor and one disk type", source=str(path),
                         hint="docs/planning.md shows the format")
    return catalog


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (the smallest sample with at least ``pct``% of samples at or below it)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def confidence(server: ServerInput, rules: SizingRules | None = None) -> int:
    rules = rules or SizingRules()
    samples = min(len(server.cpu_util), len(server.memory_util))
    known = server.cpu_count is not None and server.memory_mb is not None
    if known and samples >= rules.min_samples:
        return 5 if server.disk_gb is not None else 4
    if known and samples > 0:
        return 4 if server.disk_gb is not None else 3
    if known and server.disk_gb is not None and server.discovered and server.reachable is not False:
        return 3
    return 2 if known else 1


def need(server: ServerInput, rules: SizingRules) -> tuple[int, float, str, str]:
    """(vCPUs, memory GB, method, how) the server needs."""
    cpu, memory_gb = server.cpu_count or 1, (server.memory_mb or 1024) / 1024
    parts, method = [], "as-is"
    pct = f"p{rules.percentile:g}"
    if server.cpu_util and server.cpu_count is not None:
        busy = percentile(server.cpu_util, rules.percentile)
        cpu = max(1, math.ceil(round(server.cpu_count * busy / 100 * rules.comfort, 6)))
        parts.append(f"CPU {pct} {busy:g}% of {server.cpu_count} x {rules.comfort:g} -> {cpu} vCPU")
        method = "utilisation"
    else:
        parts.append(f"CPU as-is {cpu} vCPU" + ("" if server.cpu_count else " (unknown, assumed 1)"))
    if server.memory_util and server.memory_mb is not None:
        used = percentile(server.memory_util, rules.percentile)
        memory_gb = round(max(0.5, server.memory_mb / 1024 * used / 100 * rules.comfort), 3)
        parts.append(f"memory {pct} {used:g}% of {server.memory_mb / 1024:g} GB x {rules.comfort:g} -> "
                     f"{memory_gb:g} GB")
        method = "utilisation"
    else:
        parts.append(f"memory as-is {memory_gb:g} GB" + ("" if server.memory_mb else " (unknown, assumed 1 GB)"))
    samples = max(len(server.cpu_util), len(server.memory_util))
    how = (f"{method} ({samples} sample(s)): " if samples else "as-is (no utilisation samples): ") + "; ".join(parts)
    return cpu, memory_gb, method, how


def size_server(server: ServerInput, catalog: Catalog, rules: SizingRules | None = None) -> Sizing:
    rules = rules or SizingRules()
    cpu, memory_gb, method, how = need(server, rules)
    fits = [f for f in catalog.flavors if f.vcpu >= cpu and f.memory_gb >= memory_gb - 1e-9]
    disk = catalog.disk_types[0]
    level = confidence(server, rules)
    if not fits:
        return Sizing(flavor=None, disk_type=disk.name, monthly_cost=None, confidence=level, method=method,
                      vcpu=cpu, memory_gb=memory_gb,
                      reason=f"{how}; no flavor has {cpu} vCPU and {memory_gb:g} GB memory: size it by hand")
    flavor = min(fits, key=lambda f: (f.price_month, f.vcpu, f.memory_gb, f.name))
    disk_cost = (server.disk_gb or 0.0) * disk.price_gb_month
    unknown = [n for n, v in (("cpu", server.cpu_count), ("memory", server.memory_mb), ("disk", server.disk_gb))
               if v is None]
    assumed = f"; unknown {', '.join(unknown)} assumed minimal" if unknown else ""
    return Sizing(flavor=flavor.name, disk_type=disk.name, monthly_cost=round(flavor.price_month + disk_cost, 2),
                  confidence=level, method=method, vcpu=flavor.vcpu, memory_gb=flavor.memory_gb,
                  reason=(f"{how} -> cheapest fitting flavor {flavor.name} "
                          f"({flavor.vcpu} vCPU / {flavor.memory_gb:g} GB, {flavor.price_month:,.0f} "
                          f"{catalog.currency}/month) + {server.disk_gb or 0:g} GB {disk.name} disk "
                          f"({disk_cost:,.0f} {catalog.currency}/month){assumed}; confidence {level}/5"))
