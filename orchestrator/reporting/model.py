"""The report's data model: one frozen tree feeding both ``--format json`` and the HTML page.

Everything a reader sees in the HTML comes from this model (the page embeds it as JSON and renders it),
so the JSON export and the page always agree. Values that pindah does not know are ``None`` with a
``*_basis`` text saying why, never a guessed number.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

REPORT_SCHEMA_VERSION = 1


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Count(Frozen):
    name: str
    servers: int


class Estate(Frozen):
    servers: int
    discovered: int
    reachable: int
    unreachable: int
    imported: int
    eol_servers: int
    eol_unknown: int  # servers whose operating system is not known
    by_os: tuple[Count, ...]
    eol_os: tuple[str, ...]  # the names in by_os that are end-of-life
    by_site: tuple[Count, ...]
    by_agency: tuple[Count, ...]
    by_application: tuple[Count, ...]


class ServerRow(Frozen):
    name: str
    address: str | None = None
    application: str | None = None
    wave: int | None = None
    site: str | None = None
    agency: str | None = None
    environment: str | None = None
    criticality: str | None = None
    shared: bool = False
    os: str | None = None
    eol: bool | None = None  # None: the OS is unknown
    cpu_count: int | None = None
    memory_mb: int | None = None
    disk_gb: float | None = None
    strategy: str | None = None
    flavor: str | None = None
    monthly_cost: float | None = None
    discovered: bool = False
    reachable: bool | None = None
    zone: str | None = None  # target cloud zone, when the plan has zones
    state: str | None = None  # run state when a run touched it


class AppNode(Frozen):
    """One node of the application-level dependency graph (laid out in wave columns)."""

    name: str
    wave: int | None
    site: str | None
    shared: bool
    servers: tuple[int, ...]  # indexes into Report.servers
    x: float
    y: float


class AppEdge(Frozen):
    source: int  # index into Graph.nodes (consumer)
    target: int  # provider
    weight: float
    links: int  # server-level dependencies folded into this edge
    cross_wave: bool


class Graph(Frozen):
    nodes: tuple[AppNode, ...]
    edges: tuple[AppEdge, ...]
    # server-level dependencies for expanding a node: (consumer, provider, port, weight), indexes into Report.servers
    links: tuple[tuple[int, int, int, float], ...]


class WaveRow(Frozen):
    index: int
    servers: tuple[int, ...]  # indexes into Report.servers
    applications: tuple[str, ...]
    pilot: bool
    shared: bool
    reason: str
    start: str | None = None
    end: str | None = None
    zone: str | None = None
    storage_gb: float
    replication_hours: float | None
    replication_basis: str
    monthly_cost: float | None
    cost_basis: str
    risk: str  # low | medium | high
    risk_reasons: tuple[str, ...]


class Costs(Frozen):
    currency: str
    cloud_monthly: float | None
    cloud_basis: str
    onprem_monthly: float | None
    onprem_basis: str
    sized_servers: int
    unsized_servers: int
    vcpu: int
    memory_gb: float
    disk_gb: float
    unknown_size: int  # servers missing cpu, memory or disk
    by_flavor: tuple[Count, ...]
    by_month: tuple[tuple[str, float], ...] = ()  # calendar month -> cloud run-rate once its waves moved


class Blocker(Frozen):
    kind: str  # eol-os | discovery-failed | not-discovered | unknown-facts | no-flavor | oversized
    subject: str  # a server, or an application for ``oversized``
    wave: int | None
    detail: str


class WaveProgress(Frozen):
    wave: int
    states: tuple[Count, ...]
    done: int
    failed: int
    total: int


class FailedServer(Frozen):
    server: str
    wave: int
    state: str
    phase: str | None
    error: str | None


class Runs(Frozen):
    waves: tuple[WaveProgress, ...]
    failed: tuple[FailedServer, ...]
    total: int
    done: int


class Report(Frozen):
    schema_version: int = REPORT_SCHEMA_VERSION
    generated_at: str
    plan_id: str | None
    plan_created_at: str | None
    input_digest: str | None
    notes: tuple[str, ...]
    estate: Estate
    servers: tuple[ServerRow, ...]
    graph: Graph
    waves: tuple[WaveRow, ...]
    dated: bool  # every wave has start and end dates
    costs: Costs
    blockers: tuple[Blocker, ...]
    runs: Runs | None
