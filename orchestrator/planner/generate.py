"""Seeded generator of synthetic estates for planner benchmarks (pure; the same seed gives the same estate).

An estate is many agencies, each running its own copies of the same application templates. An application
has tiers (lb -> web -> app -> db) linked tier to tier with heavy edges; applications of one agency call each
other (some on database ports: hard dependencies); a few national services are called from every agency;
shared services (DNS, LDAP, NTP, monitoring, backup, syslog, proxy) per site are reached by every server of the site.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from orchestrator.planner.inputs import EdgeInput, PlannerInputs, ServerInput, make_inputs

# template -> tiers (name, min servers, max servers, port others call it on, disk GB range)
TEMPLATES: dict[str, tuple[tuple[str, int, int, int, tuple[int, int]], ...]] = {
    "portal": (("lb", 1, 1, 443, (20, 40)), ("web", 2, 4, 443, (40, 80)), ("app", 2, 4, 8080, (60, 120)),
               ("db", 1, 2, 5432, (200, 1500))),
    "finance": (("web", 1, 3, 443, (40, 80)), ("app", 2, 3, 8080, (60, 120)), ("db", 1, 2, 5432, (300, 2000))),
    "records": (("app", 1, 3, 8080, (60, 160)), ("db", 1, 1, 3306, (200, 1200))),
    "hr": (("web", 1, 2, 443, (40, 80)), ("app", 1, 2, 8080, (60, 100)), ("db", 1, 1, 5432, (100, 600))),
    "gis": (("app", 1, 2, 8080, (80, 200)), ("cache", 1, 1, 6379, (20, 40)), ("db", 1, 2, 5432, (500, 3000))),
    "mail": (("mx", 1, 2, 25, (100, 500)),),
    "files": (("ftp", 1, 1, 21, (500, 4000)), ("etl", 1, 2, 8080, (60, 120))),
}
SHARED = (("dns", 53), ("ldap", 389), ("ntp", 123), ("mon", 9100), ("backup", 9102), ("syslog", 514),
          ("proxy", 3128))
SITES_PER_AGENCY = 1


@dataclass(frozen=True)
class EstateShape:
    servers: int = 2700
    seed: int = 1
    agencies: int | None = None  # default: enough agencies for ``servers``
    cross_app_links: int = 20  # per agency: calls between its applications
    national_links: int = 2  # per agency: calls to another agency's application
    nonprod_share: float = 0.15
    shared: bool = True


class _Estate:
    def __init__(self, shape: EstateShape) -> None:
        self.rng = random.Random(shape.seed)
        self.shape = shape
        self.servers: list[ServerInput] = []
        self.edges: dict[tuple[str, str, int], float] = {}
        self.apps: list[tuple[str, list[list[tuple[str, int]]]]] = []  # app -> tiers -> (server, port)
        self.env: dict[str, str] = {}

    def edge(self, source: str, target: str, port: int, weight: float) -> None:
        if source != target:
            self.edges[(source, target, port)] = self.edges.get((source, target, port), 0.0) + weight

    def application(self, agency: int, template: str) -> None:
        rng, name = self.rng, f"ag{agency:03d}-{template}"
        env = "nonprod" if rng.random() < self.shape.nonprod_share else "prod"
        crit = rng.choice(("low", "medium")) if env == "nonprod" else rng.choice(("medium", "high", "critical"))
        tiers: list[list[tuple[str, int]]] = []
        for tier, low, high, port, (dmin, dmax) in TEMPLATES[template]:
            members = []
            for i in range(rng.randint(low, high)):
                server = f"{name}-{tier}{i + 1:02d}"
                self.servers.append(ServerInput(
                    name=server, application=name, environment=env, criticality=crit, site=f"site{agency:03d}",
                    agency=f"ag{agency:03d}", cpu_count=rng.choice((2, 4, 8)), memory_mb=rng.choice((4096, 8192)),
                    disk_gb=float(rng.randint(dmin, dmax))))
                members.append((server, port))
            tiers.append(members)
        for upper, lower in itertools.pairwise(tiers):
            for source, _ in upper:
                for target, port in lower:
                    self.edge(source, target, port, float(rng.randint(10, 100)))
        self.apps.append((name, tiers))
        self.env[name] = env

    def cross_links(self, first_app: int) -> None:
        """Calls between this agency's applications: app tier of one to the entry or db tier of another."""
        rng, apps = self.rng, self.apps[first_app:]
        for _ in range(self.shape.cross_app_links if len(apps) > 1 else 0):
            (name_a, a), (name_b, b) = rng.sample(apps, 2)
            if self.env[name_a] != self.env[name_b]:
                continue  # test systems talk to test systems
            tier = b[-1] if rng.random() < 0.4 else b[0]
            for source, _ in a[0]:
                for target, port in tier:
                    self.edge(source, target, port, float(rng.randint(1, 20)))

    def national(self) -> None:
        rng = self.rng
        for index in range(len(self.apps)):
            if rng.random() < self.shape.national_links / 7:
                name_a, a = self.apps[index]
                name_b, b = self.apps[rng.randrange(len(self.apps))]
                if self.env[name_a] != self.env[name_b]:
                    continue
                target, port = rng.choice(b[0])
                self.edge(rng.choice(a[-1 if len(a) == 1 else -2])[0], target, port, float(rng.randint(1, 5)))

    def shared(self, agency: int, members: list[str]) -> None:
        for kind, port in SHARED:
            name = f"ag{agency:03d}-{kind}01"
            self.servers.append(ServerInput(name=name, role="shared-service", environment="prod",
                                            criticality="critical", site=f"site{agency:03d}",
                                            agency=f"ag{agency:03d}", disk_gb=float(self.rng.randint(20, 400))))
            for server in members:
                self.edge(server, name, port, float(self.rng.randint(1, 3)))


def generate_estate(shape: EstateShape | None = None) -> PlannerInputs:
    """An estate of about ``shape.servers`` servers (whole agencies, so a few more or less)."""
    shape = shape or EstateShape()
    estate = _Estate(shape)
    agency = 0
    while len(estate.servers) < shape.servers and (shape.agencies is None or agency < shape.agencies):
        agency += 1
        first_app, first_server = len(estate.apps), len(estate.servers)
        for template in TEMPLATES:
            estate.application(agency, template)
        estate.cross_links(first_app)
        if shape.shared:
            estate.shared(agency, [s.name for s in estate.servers[first_server:]])
    estate.national()
    edges = [EdgeInput(source=s, target=t, port=p, weight=w, kind="declared")
             for (s, t, p), w in estate.edges.items()]
    return make_inputs(estate.servers, edges)


def contracted(inputs: PlannerInputs) -> tuple[dict[str, int], dict[tuple[str, str], float]]:
    """The application-contracted graph of the regular (non-shared) servers: sizes and pair weights."""
    app = {s.name: s.application for s in inputs.servers if s.application and s.role != "shared-service"}
    size: dict[str, int] = {}
    for name in app.values():
        size[name] = size.get(name, 0) + 1
    weights: dict[tuple[str, str], float] = {}
    for e in inputs.edges:
        a, b = app.get(e.source), app.get(e.target)
        if a and b and a != b:
            key = (min(a, b), max(a, b))
            weights[key] = weights.get(key, 0.0) + e.weight
    return size, weights


def cut_of(weights: dict[tuple[str, str], float], part: dict[str, int]) -> float:
    """Weight of the pairs placed in different parts."""
    return sum(w for (a, b), w in weights.items() if part[a] != part[b])
