"""The report model (the data behind --format html and json): counts, blockers, risk, cost, graph, runs."""

from __future__ import annotations

import itertools

from discovery.facts import EolInfo, FactError, HostFacts, OsInfo
from orchestrator.plan import Plan, PlanDependency, Wave
from orchestrator.planner import ServerInput, build_plan, make_inputs
from orchestrator.planner.constraints import rules_from_config
from orchestrator.planner.inputs import EdgeInput
from orchestrator.planner.sizing import Catalog, DiskType, Flavor
from orchestrator.report import RunRow
from orchestrator.reporting import OnPremCost, ReportSources, build_report

CATALOG = Catalog(flavors=(Flavor(name="s2", vcpu=2, memory_gb=4, price_month=400_000),),
                  disk_types=(DiskType(name="std", price_gb_month=1000),))


def _inputs() -> list[ServerInput]:
    common = {"imported": True, "cpu_count": 2, "memory_mb": 4096}
    return [
        ServerInput(name="web1", application="shop", site="jkt", agency="a1", os="Debian GNU/Linux 12 (bookworm)",
                    disk_gb=50, discovered=True, reachable=True, **common),
        ServerInput(name="db1", application="shop", site="jkt", agency="a1", os="CentOS Linux 7 (Core)",
                    disk_gb=500, discovered=True, reachable=True, **common),
        ServerInput(name="hr1", application="hr", site="sby", agency="a2", disk_gb=20, criticality="critical",
                    discovered=True, reachable=False, imported=True),
        ServerInput(name="big1", application="hr", site="sby", agency="a2", os="Rocky Linux 9", cpu_count=64,
                    memory_mb=524288, disk_gb=10, imported=True),
        ServerInput(name="dns1", role="shared-service", site="jkt", os="Debian GNU/Linux 12", disk_gb=5, **common),
    ]


def _edges() -> list[EdgeInput]:
    return [EdgeInput(source="web1", target="db1", port=5432, weight=10, kind="observed"),
            EdgeInput(source="hr1", target="web1", port=443, weight=2, kind="declared"),
            EdgeInput(source="web1", target="dns1", port=53, weight=1, kind="observed"),
            EdgeInput(source="hr1", target="dns1", port=53, weight=1, kind="observed")]


def _plan(catalog: Catalog | None = CATALOG) -> Plan:
    return build_plan(make_inputs(_inputs(), _edges()), plan_id="p", max_wave_servers=2, created_at="t",
                      catalog=catalog)


FACTS = [HostFacts(name="db1", address="10.0.0.2", reachable=True,
                   os=OsInfo(id="centos", version_id="7", name="CentOS Linux", family="rhel", pretty_name="CentOS Linux 7 (Core)"),
                   eol=EolInfo(status="eol", date="2024-06-30")),
         HostFacts(name="hr1", address="10.0.0.3", reachable=False,
                   errors=(FactError(fact="host", category="auth", message="permission denied (publickey)"),))]


def test_estate_counts_eol_share_and_breakdowns() -> None:
    report = build_report(ReportSources(generated_at="now", servers=_inputs(), plan=_plan(), facts=FACTS))
    e = report.estate
    assert (e.servers, e.discovered, e.reachable, e.unreachable, e.imported) == (5, 3, 2, 1, 5)
    assert (e.eol_servers, e.eol_unknown) == (1, 1)  # db1 (facts say eol); hr1 has no OS
    assert e.eol_os == ("CentOS Linux 7 (Core)",)
    assert {c.name: c.servers for c in e.by_site} == {"jkt": 3, "sby": 2}
    assert {c.name: c.servers for c in e.by_agency} == {"a1": 2, "a2": 2, "unknown": 1}
    assert [s.name for s in report.servers] == sorted(s.name for s in _inputs())
    dns = next(s for s in report.servers if s.name == "dns1")
    assert dns.shared and dns.wave == max(w.index for w in report.waves)


def test_blockers_name_each_problem() -> None:
    report = build_report(ReportSources(generated_at="now", servers=_inputs(), plan=_plan(), facts=FACTS))
    kinds = {(b.kind, b.subject) for b in report.blockers}
    assert ("eol-os", "db1") in kinds
    assert ("discovery-failed", "hr1") in kinds
    assert ("not-discovered", "big1") in kinds and ("not-discovered", "dns1") in kinds
    assert ("no-flavor", "big1") in kinds  # 64 vCPU fits no flavor of the catalog
    failed = next(b for b in report.blockers if b.kind == "discovery-failed")
    assert "permission denied" in failed.detail
    assert not any(b.subject == "web1" for b in report.blockers)


def test_costs_known_and_unknown_are_said_honestly() -> None:
    plain = build_report(ReportSources(generated_at="now", servers=_inputs(), plan=_plan(catalog=None)))
    assert plain.costs.cloud_monthly is None and plain.costs.cloud_basis.startswith("unknown")
    assert plain.costs.onprem_monthly is None and "onprem_server_month" in plain.costs.onprem_basis
    assert plain.costs.unsized_servers == 0
    assert all(w.monthly_cost is None and w.replication_hours is None for w in plain.waves)
    costed = build_report(ReportSources(generated_at="now", servers=_inputs(), plan=_plan(),
                                        onprem=OnPremCost(server_month=1_000_000, gb_month=100)))
    c = costed.costs
    assert c.currency == "IDR" and c.cloud_monthly is not None and c.cloud_monthly > 0
    assert c.onprem_monthly == 5 * 1_000_000 + 585 * 100
    assert (c.sized_servers, c.unsized_servers) == (4, 1)
    assert c.disk_gb == 585 and c.unknown_size == 1  # hr1: no cpu/memory


def test_calendar_and_bandwidth_of_the_plan_are_shown() -> None:
    rules = rules_from_config({"start_date": "2027-01-04", "default_bandwidth_mbps": 100}, 2)
    plan = build_plan(make_inputs(_inputs(), _edges()), plan_id="p", max_wave_servers=2, created_at="t",
                      rules=rules)
    report = build_report(ReportSources(generated_at="now", servers=_inputs(), plan=plan))
    assert report.dated
    first = report.waves[0]
    assert first.start == "2027-01-04" and first.end is not None
    assert first.replication_hours == plan.waves[0].replication_hours is not None
    assert first.replication_basis.startswith("from the plan")
    costed = build_plan(make_inputs(_inputs(), _edges()), plan_id="p", max_wave_servers=2, created_at="t",
                        rules=rules, catalog=CATALOG)
    by_month = build_report(ReportSources(generated_at="now", servers=_inputs(), plan=costed)).costs.by_month
    assert by_month and by_month == tuple((m, float(v)) for m, v in costed.monthly_cost_by_month)
    undated = build_report(ReportSources(generated_at="now", servers=_inputs(), plan=_plan()))
    assert not undated.dated and undated.waves[0].start is None
    assert undated.waves[0].replication_hours is None and "bandwidth_mbps" in undated.waves[0].replication_basis


def test_wave_fields_are_read_tolerantly() -> None:
    class OlderWave(Wave):  # a wave object without the calendar fields, and one with a zone attribute
        zone: str = "jkt-a"

    plan = _plan()
    waves = tuple(OlderWave(**w.model_dump()) for w in plan.waves)
    report = build_report(ReportSources(generated_at="now", servers=_inputs(),
                                        plan=plan.model_copy(update={"waves": waves})))
    assert all(w.zone == "jkt-a" for w in report.waves)


def test_risk_is_high_for_a_hard_dependency_on_a_later_wave() -> None:
    servers = [ServerInput(name=n, application=n, os="Debian GNU/Linux 12", cpu_count=1, memory_mb=1024,
                           disk_gb=1, discovered=True, reachable=True) for n in ("app", "db")]
    plan = build_plan(make_inputs(servers, []), plan_id="p", max_wave_servers=1, created_at="t")
    app_wave = plan.server("app").wave
    db_wave = 1 if app_wave == 2 else 2
    later = plan.model_copy(update={"dependencies": (), "servers": plan.servers})
    assert build_report(ReportSources(generated_at="n", servers=servers, plan=later)).waves[0].risk == "low"
    first, second = ("app", "db") if app_wave < db_wave else ("db", "app")
    dep = PlanDependency(source=first, target=second, port=5432, weight=1, kind="observed")
    risky = build_report(ReportSources(generated_at="n", servers=servers,
                                       plan=plan.model_copy(update={"dependencies": (dep,)})))
    assert risky.waves[0].risk == "high"
    assert "hard dependencies" in risky.waves[0].risk_reasons[0]
    assert risky.graph.edges[0].cross_wave


def test_graph_folds_server_links_into_application_edges() -> None:
    report = build_report(ReportSources(generated_at="now", servers=_inputs(), plan=_plan()))
    g = report.graph
    names = [n.name for n in g.nodes]
    assert sorted(names) == sorted(a.name for a in _plan().applications)
    assert len(g.links) == 4
    shared = [n for n in g.nodes if n.shared]
    assert [report.servers[i].name for n in shared for i in n.servers] == ["dns1"]
    folded = {(names[e.source], names[e.target]): e for e in g.edges}
    shop_dns = next(v for (s, t), v in folded.items() if s == "shop" and report.servers[g.nodes[
        names.index(t)].servers[0]].name == "dns1")
    assert shop_dns.links == 1 and shop_dns.cross_wave
    assert ("shop", "shop") not in folded  # web1 -> db1 stays inside the application
    spans: dict[int, list[float]] = {}
    for n in g.nodes:
        assert n.wave is not None
        spans.setdefault(n.wave, []).append(n.x)
    ordered = [spans[w] for w in sorted(spans)]
    assert all(max(a) < min(b) for a, b in itertools.pairwise(ordered))  # waves left to right
    assert build_report(ReportSources(generated_at="now", servers=_inputs(), plan=_plan())).graph == g


def test_run_progress_only_for_this_plan() -> None:
    runs = [RunRow("p", 1, "web1", "done", "validate", None), RunRow("p", 1, "db1", "failed", "replicate", "x" * 900),
            RunRow("other", 1, "hr1", "done", None, None)]
    report = build_report(ReportSources(generated_at="now", servers=_inputs(), plan=_plan(), runs=runs))
    assert report.runs is not None
    assert (report.runs.total, report.runs.done) == (2, 1)
    assert [(f.server, len(f.error or "")) for f in report.runs.failed] == [("db1", 300)]
    assert next(s for s in report.servers if s.name == "db1").state == "failed"
    assert next(s for s in report.servers if s.name == "hr1").state is None
    assert build_report(ReportSources(generated_at="now", servers=_inputs(), plan=_plan())).runs is None


def test_no_plan_still_reports_the_estate() -> None:
    report = build_report(ReportSources(generated_at="now", servers=_inputs()))
    assert report.plan_id is None and report.waves == () and report.graph.nodes == ()
    assert report.estate.servers == 5 and not report.dated


def test_rolled_back_and_blocked_servers_count_as_not_migrated() -> None:
    runs = [RunRow("p", 1, "web1", "rolled_back", "rollback", None), RunRow("p", 1, "db1", "blocked", None, None)]
    report = build_report(ReportSources(generated_at="now", servers=_inputs(), plan=_plan(), runs=runs))
    assert report.runs is not None
    assert [(w.wave, w.done, w.failed) for w in report.runs.waves] == [(1, 0, 2)]
    assert sorted(f.server for f in report.runs.failed) == ["db1", "web1"]
