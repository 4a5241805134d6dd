"""The lab estate as pure data: seed + host count + subnet -> lab hosts with their ground truth.

Same seed, same estate. Applications have web -> app -> db tiers (some a cache tier); shared services
(DNS, LDAP, monitoring) are used by many hosts. UDP: named also answers on 53/udp, the monitoring hosts
run a syslog receiver (rsyslogd, 514/udp), and every web host's nginx sends its logs there over a
connected UDP socket (``error_log syslog:server=...``).
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field

from orchestrator.errors import LabError
from orchestrator.lab import packages
from orchestrator.lab.distros import DISTROS, Distro
from orchestrator.lab.manifest import LabConnection, LabDisk, LabHost, LabOs, LabService

FIRST_HOST_OFFSET = 10  # addresses .1 (bridge) to .9 stay free
APP_NAMES = ("simpeg", "eoffice", "sipkd", "lpse", "siak", "simda", "sakti", "epayroll", "sirup", "ekinerja")
AGENCIES = ("kemenkes", "kemendikbud", "bappenas", "kemenkeu", "pemprov-jabar", "pemkot-sby", "bps", "kemnaker")
SITES = ("jkt-dc1", "jkt-dc2", "sby-room3", "bdg-room1", "mdn-room2", "mks-room1")
SHARED_SITE = "jkt-dc1"

# tier -> (init script name, process name, port)
TIER_SERVICE = {
    "web": ("nginx", "nginx", 80),
    "app": ("tomcat", "java", 8080),
    "db": ("postgresql", "postgres", 5432),
    "cache": ("redis", "redis-server", 6379),
    "dns": ("named", "named", 53),
    "ldap": ("slapd", "slapd", 389),
    "monitoring": ("zabbix-server", "zabbix_server", 10051),
}
AGENT = ("zabbix-agent", "zabbix_agentd", 10050)
# tier -> UDP port its main service also receives on
TIER_UDP_PORT = {"dns": 53}
SYSLOG = ("rsyslog", "rsyslogd", 514)  # on the monitoring hosts: a UDP-only receiver
SSSD = ("sssd", "sssd", 0)


@dataclass
class _Draft:
    name: str
    tier: str
    application: str
    agency: str
    site: str
    environment: str
    criticality: str
    role: str = ""
    connects: list[tuple[str, int, str]] = field(default_factory=list)  # (target, port, process)
    udp_connects: list[tuple[str, int, str]] = field(default_factory=list)  # (target, port, process)


def halves(subnet: str) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
    try:
        net = ipaddress.ip_network(subnet)
    except ValueError as exc:
        raise LabError(f"{subnet!r} is not a subnet: {exc}", hint="e.g. --subnet 10.213.0.0/16") from exc
    if not isinstance(net, ipaddress.IPv4Network) or net.prefixlen > 28:
        raise LabError(f"{subnet} must be an IPv4 subnet of /28 or larger", hint="e.g. --subnet 10.213.0.0/16")
    lower, upper = net.subnets(prefixlen_diff=1)
    return lower, upper


def host_addresses(subnet: str, count: int) -> list[str]:
    """Addresses for ``count`` static hosts: the lower half of the subnet, from .10 on."""
    lower = halves(subnet)[0]
    if lower.num_addresses - FIRST_HOST_OFFSET - 1 < count:
        raise LabError(f"subnet {subnet} is too small for {count} hosts",
                       hint="use a larger --subnet, e.g. a /16")
    return [str(lower.network_address + FIRST_HOST_OFFSET + i) for i in range(count)]


def cloud_cidr(subnet: str) -> str:
    """The upper half of the lab subnet: where cloud instances get their addresses."""
    return str(halves(subnet)[1])


def _shared(count: int) -> list[_Draft]:
    drafts: list[_Draft] = []
    plan = [("dns", 1 + count // 150), ("ldap", 1 + count // 150), ("monitoring", 1 + count // 100)]
    for tier, n in plan:
        short = {"monitoring": "mon"}.get(tier, tier)
        drafts += [_Draft(f"dc-{short}{i + 1:02d}", tier, tier, "kominfo", SHARED_SITE, "prod", "high",
                          "shared-service") for i in range(n)]
    return drafts[:count]


def _app_sizes(rng: random.Random, remaining: int) -> list[dict[str, int]]:
    apps: list[dict[str, int]] = []
    while remaining >= 3:
        shape = {"web": rng.choice((1, 1, 2)), "app": rng.choice((1, 1, 2)), "db": 1,
                 "cache": rng.choice((0, 0, 1))}
        for tier in ("cache", "web", "app", "web", "app"):
            if sum(shape.values()) > remaining and shape[tier] > (0 if tier == "cache" else 1):
                shape[tier] -= 1
        apps.append(shape)
        remaining -= sum(shape.values())
    if apps and remaining:
        apps[-1]["web"] += remaining
    return apps


def _applications(rng: random.Random, remaining: int) -> list[_Draft]:
    drafts: list[_Draft] = []
    used: set[str] = set()
    for shape in _app_sizes(rng, remaining):
        base, agency = rng.choice(APP_NAMES), rng.choice(AGENCIES)
        app = f"{base}-{agency}"
        k = 2
        while app in used:
            app, k = f"{base}-{agency}{k}", k + 1
        used.add(app)
        env = "prod" if rng.random() < 0.7 else "nonprod"
        crit = rng.choice(("high", "medium", "medium", "low"))
        site = rng.choice(SITES)
        for tier in ("web", "app", "cache", "db"):
            drafts += [_Draft(f"{app}-{tier}{i + 1:02d}", tier, app, agency, site, env, crit)
                       for i in range(shape[tier])]
    return drafts


def _wire(drafts: list[_Draft], rng: random.Random) -> None:
    by_app: dict[str, dict[str, list[_Draft]]] = {}
    for d in drafts:
        by_app.setdefault(d.application, {}).setdefault(d.tier, []).append(d)
    for tiers in by_app.values():
        for src_tier, dst_tier in (("web", "app"), ("app", "db"), ("app", "cache")):
            for i, src in enumerate(tiers.get(src_tier, [])):
                dsts = tiers.get(dst_tier, [])
                if dsts and src.role != "shared-service":
                    dst = dsts[i % len(dsts)]
                    src.connects.append((dst.name, TIER_SERVICE[dst_tier][2], TIER_SERVICE[src_tier][1]))
    shared = by_app
    ldaps, dnses = shared.get("ldap", {}).get("ldap", []), shared.get("dns", {}).get("dns", [])
    mons = shared.get("monitoring", {}).get("monitoring", [])
    for i, d in enumerate(drafts):
        if ldaps and d.tier != "ldap":
            d.connects.append((ldaps[i % len(ldaps)].name, 389, "sssd"))
        if dnses and d.tier in ("web", "app") and rng.random() < 0.5:
            d.connects.append((dnses[i % len(dnses)].name, 53, "sssd"))
    for i, d in enumerate(drafts):
        if mons:
            mons[i % len(mons)].connects.append((d.name, AGENT[2], "zabbix_server"))
            if d.tier == "web":
                d.udp_connects.append((mons[i % len(mons)].name, SYSLOG[2], TIER_SERVICE["web"][1]))


def _os(distro: Distro) -> LabOs:
    return LabOs(key=distro.key, id=distro.id, version_id=distro.version_id, name=distro.name,
                 family=distro.family, pretty_name=distro.pretty_name)


def _services(d: _Draft) -> tuple[LabService, ...]:
    by_process: dict[str, list[tuple[str, int]]] = {}
    for target, port, process in d.connects:
        by_process.setdefault(process, []).append((target, port))
    services: list[LabService] = []
    if d.tier in TIER_SERVICE:
        script, process, port = TIER_SERVICE[d.tier]
        data = f"/srv/{d.application if d.role else d.application + '-' + d.tier}"
        services.append(LabService(name=script, process=process, port=port, data_dir=data,
                                   connects=tuple(by_process.pop(process, [])),
                                   udp_port=TIER_UDP_PORT.get(d.tier, 0),
                                   udp_connects=tuple((t, p) for t, p, proc in d.udp_connects if proc == process)))
    if d.tier == "monitoring":
        services.append(LabService(name=SYSLOG[0], process=SYSLOG[1], port=0, udp_port=SYSLOG[2], data_dir=""))
    services.append(LabService(name=AGENT[0], process=AGENT[1], port=AGENT[2], data_dir=""))
    if "sssd" in by_process:
        services.append(LabService(name=SSSD[0], process=SSSD[1], port=0, data_dir="",
                                   connects=tuple(by_process.pop("sssd"))))
    return tuple(services)


def _finish(d: _Draft, address: str, rng: random.Random) -> LabHost:
    distro = DISTROS[rng.choice(sorted(DISTROS))]
    cpu = rng.choice({"db": (4, 8, 8, 16), "app": (2, 4, 4, 8)}.get(d.tier, (1, 2, 2, 4)))
    mem_gb = rng.choice({"db": (16, 32, 64), "app": (4, 8, 16), "cache": (4, 8, 16)}.get(d.tier, (1, 2, 4, 8)))
    disks = [LabDisk(name="sda", size_gb=rng.choice((40, 60, 80, 100, 200)))]
    if d.tier in ("db", "monitoring", "ldap") or rng.random() < 0.3:
        disks.append(LabDisk(name="sdb", size_gb=rng.choice((100, 200, 500))))
    host = LabHost(
        name=d.name, address=address, hostname=d.name, os=_os(distro), cpu_count=cpu, memory_mb=mem_gb * 1024,
        disks=tuple(disks), application=d.application, tier=d.tier, role=d.role, environment=d.environment,
        site=d.site, agency=d.agency, criticality=d.criticality, services=_services(d),
        connections=tuple(LabConnection(target=t, port=p, process=proc) for t, p, proc in d.connects)
        + tuple(LabConnection(target=t, port=p, process=proc, protocol="udp") for t, p, proc in d.udp_connects),
    )
    return host.model_copy(update={"packages": packages.installed(host)})


def lighten(hosts: tuple[LabHost, ...], services_on: int) -> tuple[LabHost, ...]:
    """The estate with only the first ``services_on`` hosts running services; the rest run sshd only.

    Light hosts keep their identity (OS, CPUs, memory, disks, application, tier) but have no services and
    no connections, and no remaining service connects to them (nothing would listen), so the ground truth
    says exactly what runs where.
    """
    if services_on < 0:
        raise LabError(f"--services-on must be 0 or more, got {services_on}", hint="e.g. --services-on 200")
    light = {h.name for h in hosts[services_on:]}
    if not light:
        return hosts
    out = []
    for i, host in enumerate(hosts):
        if i >= services_on:
            bare = host.model_copy(update={"services": (), "connections": (), "sshd_only": True})
            out.append(bare.model_copy(update={"packages": packages.installed(bare)}))  # no service packages
            continue
        services = tuple(s.model_copy(update={"connects": tuple(c for c in s.connects if c[0] not in light),
                                              "udp_connects": tuple(c for c in s.udp_connects
                                                                    if c[0] not in light)})
                         for s in host.services)
        connections = tuple(c for c in host.connections if c.target not in light)
        out.append(host.model_copy(update={"services": services, "connections": connections}))
    return tuple(out)


def build_topology(seed: int, count: int, subnet: str, services_on: int | None = None) -> tuple[LabHost, ...]:
    """The estate for ``seed``: ``count`` hosts with addresses in the lower half of ``subnet``.

    ``services_on``: only that many hosts (the first ones) run their services, see ``lighten``.
    """
    if count < 1:
        raise LabError("a lab needs at least one host", hint="pass --hosts N with N >= 1")
    addresses = host_addresses(subnet, count)
    rng = random.Random(seed)
    drafts = _shared(count)
    drafts += _applications(rng, count - len(drafts))
    if len(drafts) < count:  # fewer than 3 left for applications: make them standalone web hosts
        drafts += [_Draft(f"misc-web{i + 1:02d}", "web", "misc", "kominfo", SHARED_SITE, "nonprod", "low")
                   for i in range(count - len(drafts))]
    _wire(drafts, rng)
    hosts = tuple(_finish(d, a, rng) for d, a in zip(drafts, addresses, strict=True))
    return hosts if services_on is None else lighten(hosts, services_on)
