"""As-is sizing against a catalog, confidence, monthly cost per server/wave/plan, strategy rules with evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import InputError, PlanError, WorkspaceError
from orchestrator.planner import EdgeInput, ServerInput, build_plan, make_inputs
from orchestrator.planner.constraints import rules_from_config
from orchestrator.planner.markdown import render_plan_markdown
from orchestrator.planner.sizing import Catalog, SizingRules, load_catalog, percentile, size_server
from orchestrator.planner.strategy import consolidation, strategy

CATALOG = """\
currency: IDR
flavors:
  - {name: big, vcpu: 8, memory_gb: 32, price_month: 3000000}
  - {name: small, vcpu: 2, memory_gb: 4, price_month: 400000}
  - {name: medium, vcpu: 4, memory_gb: 8, price_month: 800000}
  - {name: mem-heavy, vcpu: 2, memory_gb: 16, price_month: 700000}
disk_types:
  - {name: standard, price_gb_month: 1000}
  - {name: ssd, price_gb_month: 3000}
"""


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG)
    loaded = load_catalog(path)
    assert loaded is not None
    return loaded


def test_cheapest_fitting_flavor_and_disk(catalog: Catalog) -> None:
    server = ServerInput(name="db", cpu_count=2, memory_mb=12288, disk_gb=100, os="Debian GNU/Linux 12",
                         discovered=True, reachable=True)
    sizing = size_server(server, catalog)
    assert (sizing.flavor, sizing.disk_type, sizing.monthly_cost, sizing.confidence) == (
        "mem-heavy", "standard", 800000.0, 3)
    assert "cheapest fitting flavor mem-heavy" in sizing.reason and sizing.method == "as-is"
    assert size_server(ServerInput(name="x", cpu_count=3, memory_mb=4096), catalog).flavor == "medium"
    too_big = size_server(ServerInput(name="y", cpu_count=64, memory_mb=4096), catalog)
    assert too_big.flavor is None and "size it by hand" in too_big.reason


def test_confidence_counts_what_is_known(catalog: Catalog) -> None:
    bare = size_server(ServerInput(name="x"), catalog)
    assert bare.confidence == 1 and bare.flavor == "small" and "unknown cpu, memory, disk assumed minimal" in bare.reason
    assert size_server(ServerInput(name="x", cpu_count=2, memory_mb=2048), catalog).confidence == 2


def test_strategy_rules_with_evidence() -> None:
    eol = ServerInput(name="a", os="CentOS Linux 7 (Core)", discovered=True, reachable=True)
    assert strategy(eol, 3)[0] == "replatform" and "CentOS Linux 7" in strategy(eol, 3)[1]
    idle = ServerInput(name="b", os="Debian GNU/Linux 12", discovered=True, reachable=True)
    assert strategy(idle, 0)[0] == "retire"
    assert strategy(idle, 1)[0] == "rehost"
    assert strategy(ServerInput(name="c", discovered=True, reachable=True, application="x"), 0)[0] == "rehost"
    assert strategy(ServerInput(name="d"), 0)[0] == "rehost"  # never seen: no evidence it is idle


def test_plan_costs_per_server_wave_and_month(catalog: Catalog) -> None:
    servers = [ServerInput(name="a1", application="a", cpu_count=2, memory_mb=4096, disk_gb=10),
               ServerInput(name="a2", application="a", cpu_count=4, memory_mb=8192, disk_gb=20),
               ServerInput(name="b1", application="b", cpu_count=1, memory_mb=1024, disk_gb=0,
                           os="Ubuntu 18.04.6 LTS")]
    edges = [EdgeInput(source="a1", target="a2", port=80, weight=1, kind="declared")]
    plan = build_plan(make_inputs(servers, edges), plan_id="c", max_wave_servers=2, created_at="t", catalog=catalog)
    cost = {s.name: s.monthly_cost for s in plan.servers}
    assert cost == {"a1": 410000.0, "a2": 820000.0, "b1": 400000.0}
    assert {w.index: w.monthly_cost for w in plan.waves} == {plan.server("a1").wave: 1230000.0,
                                                             plan.server("b1").wave: 400000.0}
    assert plan.monthly_cost == 1630000.0 and plan.currency == "IDR"
    assert plan.server("b1").strategy == "replatform"
    assert any(r.startswith("sizing: as-is") for r in plan.server("a1").reasons)
    text = render_plan_markdown(plan)
    assert "## Sizing and cost" in text and "1,630,000 IDR/month" in text
    without = build_plan(make_inputs(servers, edges), plan_id="c", max_wave_servers=2, created_at="t")
    assert without.monthly_cost is None and "## Sizing and cost" not in render_plan_markdown(without)


@pytest.mark.parametrize(("text", "needle"), [
    ("flavors: [\n", "not valid YAML"),
    ("flavors: []\ndisk_types: []\n", "at least one flavor"),
    ("flavors:\n  - {name: x}\ndisk_types: []\n", "catalog format"),
])
def test_bad_catalog_is_an_input_error(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=needle) as info:
        load_catalog(path)
    assert info.value.hint
    assert load_catalog(tmp_path / "missing.yaml") is None


def test_utilisation_sizing_takes_percentile_times_comfort(catalog: Catalog) -> None:
    busy = tuple(float(v) for v in range(1, 21))  # p95 of 1..20 (nearest rank) = 19
    server = ServerInput(name="app", cpu_count=8, memory_mb=32768, disk_gb=10, discovered=True, reachable=True,
                         cpu_util=busy, memory_util=tuple(v / 2 for v in busy))
    sizing = size_server(server, catalog)
    # CPU: 8 x 19% x 1.3 = 1.98 -> 2 vCPU; memory: 32 GB x 9.5% x 1.3 = 3.95 GB -> "small" (2 vCPU / 4 GB)
    assert (sizing.flavor, sizing.method, sizing.confidence) == ("small", "utilisation", 5)
    assert "CPU p95 19% of 8 x 1.3 -> 2 vCPU" in sizing.reason and "20 sample(s)" in sizing.reason
    stricter = size_server(server, catalog, SizingRules(percentile=100, comfort=2.0))
    assert stricter.flavor == "medium"  # 8 x 20% x 2 = 3.2 -> 4 vCPU; 32 x 10% x 2 = 6.4 GB
    few = server.model_copy(update={"cpu_util": busy[:3], "memory_util": busy[:3]})
    assert size_server(few, catalog).confidence == 4
    as_is = server.model_copy(update={"cpu_util": (), "memory_util": ()})
    assert size_server(as_is, catalog).flavor == "big" and size_server(as_is, catalog).method == "as-is"


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0 and percentile([1.0], 95) == 1.0
    assert percentile([float(v) for v in range(1, 101)], 95) == 95.0


def test_retain_consolidate_and_overrides() -> None:
    aix = ServerInput(name="p1", os="AIX 7.2", discovered=True, reachable=True)
    assert strategy(aix, 2)[0] == "retain"
    web = [ServerInput(name=f"web-{a}", agency=a, software=("nginx 1",), ports=(22, 443)) for a in ("ag1", "ag2")]
    alone = ServerInput(name="web-x", agency="ag1", software=("nginx 1",), ports=(443,))
    other = ServerInput(name="db-1", agency="ag3", software=("postgres 15",), ports=(5432,))
    found = consolidation([*web, alone, other])
    assert set(found) == {"web-ag1", "web-ag2", "web-x"}
    assert "nginx 1 on port(s) 443" in found["web-ag1"] and "ag2" in found["web-ag1"]
    assert strategy(web[0], 3, consolidate=found)[0] == "consolidate"
    assert strategy(web[0], 3, consolidate=found, override=("retain", "server web-ag1")) == (
        "retain", "set in pindah.toml [plan.strategy] for server web-ag1")
    busy_idle = ServerInput(name="b", discovered=True, reachable=True, cpu_util=(40.0, 60.0))
    assert strategy(busy_idle, 0)[0] == "rehost"
    quiet = busy_idle.model_copy(update={"cpu_util": (0.5, 1.0)})
    kind, evidence = strategy(quiet, 0)
    assert kind == "retire" and "p95 1% < 5%" in evidence
    eol = ServerInput(name="e", os="Debian GNU/Linux 12", os_eol=True)
    assert strategy(eol, 1)[0] == "replatform"


def test_strategy_overrides_from_config_reach_the_plan() -> None:
    servers = [ServerInput(name="a1", application="a"), ServerInput(name="a2", application="a"),
               ServerInput(name="b1", application="b")]
    rules = rules_from_config({"strategy": {"a": "retire", "a2": "retain"}, "pilot_servers": 0})
    plan = build_plan(make_inputs(servers, []), plan_id="o", max_wave_servers=4, created_at="t", rules=rules)
    assert [(s.name, s.strategy) for s in plan.servers] == [("a1", "retire"), ("a2", "retain"), ("b1", "rehost")]
    assert plan.server("a1").strategy_reason == "set in pindah.toml [plan.strategy] for application a"
    with pytest.raises(PlanError, match="'zz'"):
        build_plan(make_inputs(servers, []), plan_id="o", max_wave_servers=4, created_at="t",
                   rules=rules_from_config({"strategy": {"zz": "retire"}}))
    with pytest.raises(WorkspaceError, match=r"strategy\.a"):
        rules_from_config({"strategy": {"a": "teleport"}})
