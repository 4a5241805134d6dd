"""Migration strategy per server, by rules with evidence; overridable per server or application. Pure.

In order, the first that applies:

1. an override from pindah.toml ``[plan.strategy]`` (server or application -> strategy);
2. ``retain``: an operating system the national cloud cannot run (AIX, Solaris, HP-UX, mainframe/midrange);
3. ``retire``: discovered and reachable, no dependency in or out, no application, and (when sampled) its CPU
   stayed low over the sampling window: confirm it is idle, then switch it off instead of moving it;
4. ``consolidate``: its software signature (recognised middleware with major version, plus listening service
   ports) is the same as servers' of at least one other agency: one shared instance could serve them all;
5. ``replatform``: an end-of-life operating system (discovery's EOL table, else the OS name);
6. ``rehost``: move it as it is.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

from orchestrator.planner.inputs import ServerInput
from orchestrator.planner.sizing import percentile

STRATEGIES = ("rehost", "replatform", "retire", "retain", "consolidate")
EOL_OS = re.compile(r"centos( linux)? [678]\b|debian gnu/linux (8|9|10)\b|ubuntu (14|16|18)\.04|"
                    r"red hat enterprise linux (server )?[56]\b|windows server 20(03|08|12)", re.IGNORECASE)
UNSUPPORTED_OS = re.compile(r"\b(aix|solaris|sunos|hp-ux|z/os|os/400|as/400|openvms|tru64|irix)\b", re.IGNORECASE)
IDLE_CPU_PERCENT = 5.0
ADMIN_PORTS = frozenset({22, 111, 123, 199, 323, 5666, 9100, 10050})  # ssh, rpcbind, ntp, snmp, agents
SHOWN = 4


def signature(server: ServerInput) -> str | None:
    """What the server runs, comparable across agencies; None when nothing recognisable runs on it."""
    ports = sorted(p for p in server.ports if p not in ADMIN_PORTS and p < 32768)
    if not server.software or not ports:
        return None
    return f"{', '.join(server.software)} on port(s) {', '.join(map(str, ports))}"


def consolidation(servers: Iterable[ServerInput]) -> dict[str, str]:
    """Server -> evidence, for servers whose signature is shared by servers of two or more agencies."""
    by_signature: dict[str, list[ServerInput]] = defaultdict(list)
    for server in servers:
        sig = signature(server)
        if sig is not None and server.agency:
            by_signature[sig].append(server)
    out: dict[str, str] = {}
    for sig, members in sorted(by_signature.items()):
        agencies = sorted({s.agency for s in members if s.agency})
        if len(agencies) < 2:
            continue
        for server in members:
            others = sorted(s.name for s in members if s.agency != server.agency)
            out[server.name] = (
                f"same software signature ({sig}) as {len(others)} server(s) of {len(agencies) - 1} other "
                f"agenc{'y' if len(agencies) == 2 else 'ies'} ({', '.join(a for a in agencies if a != server.agency)}"
                f"; e.g. {', '.join(others[:SHOWN])}): a consolidation candidate, one shared instance could serve "
                "them all")
    return out


def _idle(server: ServerInput, degree: int) -> str | None:
    if not (server.discovered and server.reachable) or degree or server.application or server.role:
        return None
    if server.cpu_util:
        peak = percentile(server.cpu_util, 95)
        if peak >= IDLE_CPU_PERCENT:
            return None
        usage = (f"; its CPU stayed low over {len(server.cpu_util)} sampled interval(s) (p95 {peak:g}% < "
                 f"{IDLE_CPU_PERCENT:g}%)")
    else:
        usage = "; no utilisation samples: check its load before retiring it"
    return ("no dependency in or out was observed or declared and no application is imported" + usage
            + ": confirm it is idle, then retire it instead of moving it")


def strategy(server: ServerInput, degree: int, *, override: tuple[str, str] | None = None,
             consolidate: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(strategy, evidence) for one server; ``degree`` = dependencies in and out; ``override`` =
    (strategy, the config key that set it)."""
    if override is not None:
        return override[0], f"set in pindah.toml [plan.strategy] for {override[1]}"
    if server.os and UNSUPPORTED_OS.search(server.os):
        return "retain", (f"operating system {server.os} does not run on the national cloud (x86 Linux/Windows "
                          "only): keep it on premises until the application is rebuilt")
    idle = _idle(server, degree)
    if idle is not None:
        return "retire", idle
    if consolidate and server.name in consolidate:
        return "consolidate", consolidate[server.name]
    if server.os_eol or (server.os_eol is None and server.os and EOL_OS.search(server.os)):
        release = server.os or "(release past its support)"
        return "replatform", f"end-of-life operating system {release}: move the application to a supported OS"
    return "rehost", "default: move the server as it is"
