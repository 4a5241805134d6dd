"""As-is sizing against a catalog, confidence, monthly cost per server/wave/plan, strategy rules with evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import InputError
from orchestrator.planner import EdgeInput, ServerInput, build_plan, make_inputs
from orchestrator.planner.markdown import render_plan_markdown
from orchestrator.planner.sizing import Catalog, load_catalog, size_server, strategy

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
        "mem-heavy", "standard", 800000.0, 5)
    assert "cheapest fitting flavor mem-heavy" in sizing.reason
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
