"""As-is sizing, monthly cost and migration strategy per server. Pure: catalog and inputs in, decisions out.

Sizing maps a server's CPU count and memory to the cheapest flavor of the national cloud's catalog
(``catalog.yaml`` in the workspace) that has at least as many vCPUs and as much memory, and prices its disk at
the catalog's default disk type. Utilisation samples are not used yet (discovery has none): this is as-is
sizing. Confidence 1-5 counts what is known: CPU, memory, disk, OS, and whether discovery reached the server.

Strategy: ``retire`` for a discovered server with no dependency in or out and no application; ``replatform``
for an end-of-life operating system; ``rehost`` otherwise. Each comes with its evidence.

catalog.yaml::

    currency: IDR
    flavors:
      - {name: s2.medium, vcpu: 2, memory_gb: 4, price_month: 450000}
    disk_types:
      - {name: standard, price_gb_month: 1500}     # the first one is the default
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from orchestrator.errors import InputError
from orchestrator.planner.inputs import ServerInput

EOL_OS = re.compile(r"centos( linux)? [678]\b|debian gnu/linux (8|9|10)\b|ubuntu (14|16|18)\.04|"
                    r"red hat enterprise linux (server )?[56]\b|windows server 20(03|08|12)", re.IGNORECASE)


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


def confidence(server: ServerInput) -> int:
    known = [server.cpu_count is not None, server.memory_mb is not None, server.disk_gb is not None,
             server.os is not None, server.discovered and server.reachable is not False]
    return max(1, sum(known))


def size_server(server: ServerInput, catalog: Catalog) -> Sizing:
    cpu, memory_gb = server.cpu_count or 1, (server.memory_mb or 1024) / 1024
    fits = [f for f in catalog.flavors if f.vcpu >= cpu and f.memory_gb >= memory_gb - 1e-9]
    disk = catalog.disk_types[0]
    level = confidence(server)
    if not fits:
        return Sizing(flavor=None, disk_type=disk.name, monthly_cost=None, confidence=level,
                      reason=f"no flavor has {cpu} vCPU and {memory_gb:g} GB memory: size it by hand")
    flavor = min(fits, key=lambda f: (f.price_month, f.vcpu, f.memory_gb, f.name))
    disk_cost = (server.disk_gb or 0.0) * disk.price_gb_month
    unknown = [n for n, v in (("cpu", server.cpu_count), ("memory", server.memory_mb), ("disk", server.disk_gb))
               if v is None]
    assumed = f"; unknown {', '.join(unknown)} assumed minimal" if unknown else ""
    return Sizing(flavor=flavor.name, disk_type=disk.name, monthly_cost=round(flavor.price_month + disk_cost, 2),
                  confidence=level,
                  reason=(f"as-is: {cpu} vCPU / {memory_gb:g} GB -> cheapest fitting flavor {flavor.name} "
                          f"({flavor.vcpu} vCPU / {flavor.memory_gb:g} GB, {flavor.price_month:,.0f} "
                          f"{catalog.currency}/month) + {server.disk_gb or 0:g} GB {disk.name} disk "
                          f"({disk_cost:,.0f} {catalog.currency}/month){assumed}; confidence {level}/5"))


def strategy(server: ServerInput, degree: int) -> tuple[str, str]:
    """(strategy, evidence) for one server; ``degree`` = dependencies in and out."""
    if server.os and EOL_OS.search(server.os):
        return "replatform", f"end-of-life operating system {server.os}: move the application to a supported OS"
    if server.discovered and server.reachable and degree == 0 and not server.application and not server.role:
        return "retire", ("no dependency in or out was observed or declared and no application is imported: "
                          "confirm it is idle, then retire it instead of moving it")
    return "rehost", "default: move the server as it is"
