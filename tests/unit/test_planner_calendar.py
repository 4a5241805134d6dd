"""Calendar, freezes, bandwidth, zones and group merge/split from pindah.toml; utilisation and data from a
discovery snapshot; schema-1 plans still load."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from discovery.facts import CpuInfo, HostFacts, Middleware, Mount, Utilisation, UtilisationSample
from orchestrator.errors import PlanError, WorkspaceError
from orchestrator.plan import dump_plan, load_plan
from orchestrator.planner import ServerInput, build_inputs, build_plan, make_inputs
from orchestrator.planner.calendar import Calendar
from orchestrator.planner.constraints import rules_from_config

CONFIG = """
start_date = 2027-01-04
wave_days = 5
windows = [["2027-01-04", "2027-01-06"]]
end_date = 2027-12-31
merge = [["a", "b"]]
default_bandwidth_mbps = 100
[split.app-w1]
reports = ["r2", "r1"]
[[freeze]]
name = "budget close"
start = 2027-03-20
end = "2027-04-05"
agencies = ["ag001"]
[bandwidth_mbps]
site001 = 200
[zones.jkt-a]
sites = ["site001"]
max_vcpu = 160
per = "month"
[strategy]
legacy01 = "retain"
"""


def test_every_new_key_parses() -> None:
    rules = rules_from_config(tomllib.loads(CONFIG))
    assert rules.start_date == "2027-01-04" and rules.windows == (("2027-01-04", "2027-01-06"),)
    assert rules.freezes[0].start == "2027-03-20" and rules.freezes[0].end == "2027-04-05"
    assert rules.freezes[0].agencies == ("ag001",) and rules.merge == (("a", "b"),)
    assert rules.split[0].name == "reports" and rules.split[0].servers == ("r1", "r2")
    assert rules.bandwidth_mbps == (("site001", 200.0),) and rules.default_bandwidth_mbps == 100.0
    assert rules.zones[0].max_vcpu == 160 and rules.zones[0].per == "month"
    assert rules.strategy == (("legacy01", "retain"),)
    calendar = Calendar.make(rules)
    assert [calendar.dates(i) for i in (1, 2, 3)] == [
        (datetime(2027, 1, 4).date(), datetime(2027, 1, 6).date()),
        (datetime(2027, 1, 7).date(), datetime(2027, 1, 11).date()),
        (datetime(2027, 1, 12).date(), datetime(2027, 1, 16).date())]
    assert calendar.hours(1) == 72.0


@pytest.mark.parametrize(("section", "needle"), [
    ({"start_date": "next monday"}, "start_date"),
    ({"windows": [["2027-01-05", "2027-01-04"]]}, "windows"),
    ({"start_date": "2027-01-01", "freeze": [{"start": "2027-01-02"}]}, "freeze #1"),
    ({"start_date": "2027-01-01", "freeze": [{"start": "2027-01-09", "end": "2027-01-02"}]}, "freeze #1"),
    ({"freeze": [{"start": "2027-01-01", "end": "2027-01-02"}]}, "need dates"),
    ({"bandwidth_mbps": {"s": 0}}, "bandwidth_mbps.s"),
    ({"zones": {"z": {"per": "year"}}}, "zones.z.per"),
    ({"zones": {"z": {"max_cpu": 3}}}, "zones.z"),
    ({"merge": [["only"]]}, "merge"),
    ({"sizing_percentile": 120}, "sizing_percentile"),
])
def test_bad_new_values_name_the_key(section: dict[str, object], needle: str) -> None:
    with pytest.raises(WorkspaceError, match=needle) as info:
        rules_from_config(section)
    assert info.value.hint


def test_month_zone_needs_dates_and_bad_names_are_errors() -> None:
    servers = make_inputs([ServerInput(name="a1", application="a"), ServerInput(name="b1", application="b")], [])
    def plan(section: dict[str, object]) -> None:
        build_plan(servers, plan_id="x", max_wave_servers=4, created_at="t", rules=rules_from_config(section))
    with pytest.raises(PlanError, match="per = \"month\""):
        plan({"zones": {"z": {"per": "month"}}})
    with pytest.raises(PlanError, match="merge names 'zz'"):
        plan({"merge": [["a", "zz"]]})
    with pytest.raises(PlanError, match="names application 'zz'"):
        plan({"split": {"zz": {"p": ["a1"]}}})
    with pytest.raises(PlanError, match="b1 are not in a"):
        plan({"split": {"a": {"p": ["b1"]}}})
    with pytest.raises(PlanError, match="every server"):
        plan({"split": {"a": {"p": ["a1"]}}})


def test_zone_too_small_for_one_application_is_infeasible() -> None:
    from orchestrator.planner.constraints import InfeasiblePlan
    servers = make_inputs([ServerInput(name=f"a{i}", application="a", cpu_count=4) for i in range(3)], [])
    with pytest.raises(InfeasiblePlan, match="needs 12 vCPUs in zone z") as info:
        build_plan(servers, plan_id="x", max_wave_servers=4, created_at="t",
                   rules=rules_from_config({"zones": {"z": {"max_vcpu": 8}}}))
    assert info.value.constraints == ("zones.z.max_vcpu",) and "split" in info.value.hint


def _host(name: str, agency_cpu: list[float]) -> HostFacts:
    at = datetime(2027, 1, 1, tzinfo=UTC)
    return HostFacts(
        name=name, address=f"10.0.0.{len(name)}", reachable=True, cpu=CpuInfo(count=4), memory_mb=8192,
        mounts=(Mount(device="/dev/sda1", mountpoint="/", fstype="ext4", size_mb=40960, used_mb=10240),
                Mount(device="/dev/sda1", mountpoint="/srv", fstype="ext4", size_mb=40960, used_mb=10240),
                Mount(device="/dev/sdb", mountpoint="/data", fstype="xfs", size_mb=204800, used_mb=51200),
                Mount(device="tmpfs", mountpoint="/run", fstype="tmpfs", size_mb=800, used_mb=700)),
        middleware=(Middleware(kind="postgres", version="15.4"),),
        utilisation=Utilisation(intervals=tuple(
            UtilisationSample(at=at, seconds=60, cpu_percent=c, memory_used_percent=50.0) for c in agency_cpu)))


def test_inputs_carry_utilisation_data_and_software_from_a_snapshot() -> None:
    inputs = build_inputs([_host("db1", [10.0, 20.0, 30.0])], {}, [])
    server = inputs.servers[0]
    assert server.data_gb == 60.0  # sda1 once (10 GB) + sdb (50 GB); tmpfs left out
    assert server.cpu_util == (10.0, 20.0, 30.0) and server.memory_util == (50.0, 50.0, 50.0)
    assert server.software == ("postgres 15",)
    plan = build_plan(inputs, plan_id="x", max_wave_servers=4, created_at="t")
    planned = plan.server("db1")
    assert planned.data_gb == 60.0 and planned.sizing_method is None  # no catalog: no flavor, but needs computed
    assert planned.vcpu == 2 and planned.memory_gb == 5.2  # 4 x 30% x 1.3 -> 2; 8 GB x 50% x 1.3


def test_replication_and_zone_use_per_wave() -> None:
    servers = [ServerInput(name="a1", application="a", site="s1", disk_gb=90, cpu_count=2),
               ServerInput(name="b1", application="b", site="s2", disk_gb=45, cpu_count=4)]
    rules = rules_from_config({"pilot_servers": 0, "bandwidth_mbps": {"s1": 100, "s2": 10},
                               "zones": {"z": {"max_vcpu": 10}}})
    plan = build_plan(make_inputs(servers, []), plan_id="x", max_wave_servers=4, created_at="t", rules=rules)
    wave = plan.waves[0]
    assert wave.start is None and wave.window_hours is None and wave.data_gb == 135.0
    assert [(r.site, r.hours) for r in wave.replication_by_site] == [("s1", 2.0), ("s2", 10.0)]
    assert wave.replication_hours == 10.0
    assert [(z.zone, z.period, z.servers, z.vcpu, z.max_vcpu) for z in wave.zone_use] == [("z", "wave 1", 2, 6, 10)]
    assert plan.server("a1").zone == "z"


def test_a_schema_1_plan_still_loads(tmp_path: Path) -> None:
    servers = make_inputs([ServerInput(name="a1", application="a")], [])
    text = dump_plan(build_plan(servers, plan_id="old", max_wave_servers=4, created_at="t"))
    old = text.replace("schema_version: 2", "schema_version: 1")
    for key in ("start", "end", "window_hours", "data_gb", "replication_hours", "zone_use", "replication_by_site",
                "sizing_method", "vcpu", "memory_gb", "zone", "monthly_cost_by_month"):
        old = "\n".join(line for line in old.splitlines() if not line.strip().startswith(f"{key}:")) + "\n"
    (tmp_path / "old.yaml").write_text(old)
    loaded = load_plan(tmp_path, "old")
    assert loaded.schema_version == 1 and loaded.waves[0].start is None
    (tmp_path / "new.yaml").write_text(text.replace("schema_version: 2", "schema_version: 9"))
    with pytest.raises(PlanError, match="schema_version: 9") as info:
        load_plan(tmp_path, "new")
    assert "upgrade pindah" in (info.value.hint or "")


def test_dates_replication_and_run_rate_reach_markdown_and_show(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from orchestrator.cli import app
    from orchestrator.planner.markdown import render_plan_markdown
    from orchestrator.planning import create_plan
    from orchestrator.store import Store
    from orchestrator.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws")
    text = ws.config_path.read_text().replace("max_wave_servers = 25", 'max_wave_servers = 1\npilot_servers = 0\n'
                                              'start_date = 2027-01-25\nwave_days = 7\ndefault_bandwidth_mbps = 100')
    ws.config_path.write_text(text)
    (ws.root / "catalog.yaml").write_text("flavors:\n  - {name: s, vcpu: 4, memory_gb: 8, price_month: 1000}\n"
                                          "disk_types:\n  - {name: std, price_gb_month: 10}\n")
    with Store.open(ws.db_path) as store:
        store.upsert_servers([("a1", {"application": "a", "disk_gb": 45.0, "cpu_count": 2, "memory_mb": 2048}),
                              ("b1", {"application": "b", "disk_gb": 90.0, "cpu_count": 2, "memory_mb": 2048})])
    plan = create_plan(ws, plan_id="dated").plan
    assert [(w.start, w.end) for w in plan.waves] == [("2027-01-25", "2027-01-31"), ("2027-02-01", "2027-02-07")]
    assert plan.server("a1").wave == 1  # a1's 1,000 + 45 GB x 10 in January, b1 joins in February
    assert plan.monthly_cost_by_month == (("2027-01", 1450.0), ("2027-02", 3350.0))
    markdown = render_plan_markdown(plan)
    assert "### Dates, replication and zones" in markdown and "| 2027-01-25 | 2027-01-31 |" in markdown
    assert "run-rate" in markdown
    shown = CliRunner().invoke(app, ["-w", str(ws.root), "plan", "show", "dated"])
    assert shown.exit_code == 0, shown.output
    assert "2027-02-01 to 2027-02-07" in shown.output and "h of a 168 h window" in shown.output


def test_plan_create_sizes_from_the_stored_discovery_snapshot(tmp_path: Path) -> None:
    from orchestrator.planning import create_plan
    from orchestrator.store import Store
    from orchestrator.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws")
    (ws.root / "catalog.yaml").write_text("flavors:\n  - {name: small, vcpu: 2, memory_gb: 8, price_month: 100}\n"
                                          "  - {name: large, vcpu: 4, memory_gb: 8, price_month: 200}\n"
                                          "disk_types:\n  - {name: std, price_gb_month: 1}\n")
    with Store.open(ws.db_path) as store:
        store.save_snapshot([_host("db1", [10.0, 20.0, 30.0] * 4)], source="test")
    planned = create_plan(ws, plan_id="sized").plan.server("db1")
    assert (planned.sizing_method, planned.flavor, planned.sizing_confidence) == ("utilisation", "small", 4)
    assert planned.data_gb == 60.0 and "12 sample(s)" in planned.sizing_reason
