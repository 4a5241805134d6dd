"""Pure assembly of HostFacts from the split script output: a parse failure becomes a FactError."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from discovery import eol, middleware
from discovery.errors import HINTS, DiscoveryError, FailureCategory
from discovery.facts import Completeness, FactError, HostFacts
from discovery.probes import (
    cron,
    disks,
    mounts,
    network,
    osrelease,
    packages,
    processes,
    services,
    sockets,
    system,
    virt,
)
from discovery.probes.partial import Partial
from discovery.probes.script import Section

# probe → (HostFacts field, or a "_name" kept aside for derived facts; its parser)
_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "os": ("os", osrelease.parse),
    "hostname": ("hostname", system.parse_hostname),
    "cpu": ("cpu", system.parse_cpu),
    "memory": ("memory_mb", system.parse_memory_mb),
    "disks": ("disks", disks.parse),
    "packages": ("packages", packages.parse),
    "services": ("services", services.parse),
    "network": ("_network", network.parse),
    "mounts": ("mounts", mounts.parse),
    "cron": ("cron_jobs", cron.parse),
    "virtualization": ("virtualization", virt.parse),
    "processes": ("_processes", processes.parse),
}


def facts_from_sections(name: str, address: str, sections: dict[str, Section],
                        collected_at: datetime | None = None,
                        ignore_peer: tuple[str, int] | None = None) -> HostFacts:
    """HostFacts for a reachable host; each probe is parsed on its own so one failure spoils nothing else."""
    values: dict[str, Any] = {}
    completeness: dict[str, Completeness] = {}
    errors: list[FactError] = []
    for probe, (field, parser) in _PARSERS.items():
        try:
            value = parser(_text(sections, probe))
            completeness[probe] = Completeness.COMPLETE
            if isinstance(value, Partial):
                value = _partial(probe, value, completeness, errors)
            values[field] = value
        except DiscoveryError as exc:
            completeness[probe] = Completeness.FAILED
            errors.append(FactError(fact=probe, category=exc.category.value, message=exc.message,
                                    hint=exc.hint))
        except (ValueError, IndexError, KeyError) as exc:
            completeness[probe] = Completeness.FAILED
            errors.append(_parse_error(probe, f"{type(exc).__name__}: {exc}"))
        _blame_command(sections.get(probe), errors)
    _add_sockets(sections, values, completeness, errors)
    _derive(values, completeness, collected_at or datetime.now(UTC))
    if ignore_peer is not None and "connections" in values:
        peer = (sockets.normalize_address(ignore_peer[0]), ignore_peer[1])
        values["connections"] = tuple(c for c in values["connections"]
                                      if (c.remote_address, c.remote_port) != peer)
    return HostFacts(name=name, address=address, reachable=True, completeness=completeness,
                     errors=tuple(errors), collected_at=collected_at or datetime.now(UTC), **values)


def _partial(probe: str, value: Partial, completeness: dict[str, Completeness], errors: list[FactError]) -> Any:
    completeness[probe] = Completeness.PARTIAL
    errors.append(FactError(fact=probe, category=FailureCategory.PARTIAL.value, message=value.reason,
                            hint=HINTS[FailureCategory.PARTIAL]))
    return value.value


def _derive(values: dict[str, Any], completeness: dict[str, Completeness], now: datetime) -> None:
    """Facts computed from other facts: network fields, end-of-life, middleware, process names."""
    net = values.pop("_network", None)
    if net is not None:
        values.update(interfaces=net.interfaces, default_gateway=net.default_gateway, dns_servers=net.dns_servers)
    if values.get("os") is not None:
        values["eol"] = eol.status(values["os"], now.date())
        completeness["eol"] = Completeness.COMPLETE if values["eol"].status != "unknown" else Completeness.PARTIAL
    procs = values.pop("_processes", None)
    if procs is not None:
        values["processes"] = tuple(sorted({p.name for p in procs}))
    if procs is not None or "packages" in values:
        values["middleware"] = middleware.detect(values.get("packages", ()), procs or ())
        both = procs is not None and "packages" in values
        completeness["middleware"] = Completeness.COMPLETE if both else Completeness.PARTIAL


def _text(sections: dict[str, Section], probe: str) -> str:
    section = sections.get(probe)
    if section is None:
        raise DiscoveryError(f"the {probe} probe printed no output section (script cut short?)")
    return section.text


def _blame_command(section: Section | None, errors: list[FactError]) -> None:
    """A probe that failed to parse AND exited non-zero failed as a command, not as a parser."""
    if section is None or not errors or errors[-1].fact != section.name or section.exit_status in (0, None):
        return
    last = errors.pop()
    errors.append(FactError(fact=last.fact, category=FailureCategory.COMMAND.value,
                            message=f"exited {section.exit_status}: {last.message}",
                            hint=HINTS[FailureCategory.COMMAND]))


def _parse_error(probe: str, message: str) -> FactError:
    return FactError(fact=probe, category=FailureCategory.PARSE.value, message=message,
                     hint=HINTS[FailureCategory.PARSE])


def _add_sockets(sections: dict[str, Section], values: dict[str, Any],
                 completeness: dict[str, Completeness], errors: list[FactError]) -> None:
    try:
        found = sockets.parse(_text(sections, "sockets"))
    except DiscoveryError as exc:
        completeness["listening"] = completeness["connections"] = Completeness.FAILED
        errors.append(FactError(fact="sockets", category=exc.category.value, message=exc.message, hint=exc.hint))
        return
    except (ValueError, IndexError) as exc:
        completeness["listening"] = completeness["connections"] = Completeness.FAILED
        errors.append(_parse_error("sockets", f"{type(exc).__name__}: {exc}"))
        return
    values["listening"] = found.listening
    values["connections"] = found.connections
    level = Completeness.COMPLETE if found.has_process_names else Completeness.PARTIAL
    completeness["listening"] = completeness["connections"] = level


def unreachable(name: str, address: str, error: DiscoveryError) -> HostFacts:
    """HostFacts for a host that could not be probed at all."""
    return HostFacts(name=name, address=address, reachable=False,
                     errors=(FactError(fact="host", category=error.category.value, message=error.message,
                                       hint=error.hint),),
                     collected_at=datetime.now(UTC))
