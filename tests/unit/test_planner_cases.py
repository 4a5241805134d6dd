"""Planner data cases: one YAML file per case under cases/planner (inputs + expected properties).

Every case is also checked against the hard rules: every server in exactly one wave, an application
never split, wave size within the limit unless the wave holds one oversized application, a reason for
every server and application, and byte-identical YAML when the inputs come in another order.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from shared_fixtures import SHARED_FIXTURES

from orchestrator.plan import Plan, PlanRules, dump_plan
from orchestrator.planner import EdgeInput, PlannerInputs, ServerInput, build_plan, make_inputs
from orchestrator.planner.constraints import InfeasiblePlan, rules_from_config

CASES = Path(__file__).parent / "cases" / "planner"
FIXTURES = SHARED_FIXTURES / "dependency-graphs"


def _fixture_graph(name: str) -> tuple[list[str], list[tuple[str, str, int, float]]]:
    if name == "online-boutique":
        path = FIXTURES / "online-boutique" / "edges.json"
        if not path.is_file():
            pytest.skip(f"fixture {path.name} not available")
        raw = json.loads(path.read_text())
        edges = [(e["from"], e["to"], int(e.get("port", 0)), 1.0) for e in raw]
        names = sorted({e[0] for e in edges} | {e[1] for e in edges})
        return names, edges
    family, app = name.split("/")
    path = FIXTURES / family / f"{app}.depends_on.json"
    if not path.is_file():
        pytest.skip(f"fixture {path.name} not available")
    data = json.loads(path.read_text())
    edges = [(e["from"], e["to"], 0, 1.0) for e in data["edges"] if e["from"] != e["to"]]
    return sorted(set(data["services"]) | {e[0] for e in edges} | {e[1] for e in edges}), edges


def _inputs(case: dict[str, Any], reverse: bool = False) -> PlannerInputs:
    if "fixture" in case:
        names, raw_edges = _fixture_graph(case["fixture"])
        servers = [ServerInput(name=n) for n in names]
    else:
        servers = [ServerInput(name=s) if isinstance(s, str) else ServerInput(**s) for s in case["servers"]]
        raw_edges = [tuple(e) for e in case.get("edges", [])]
    edges = [EdgeInput(source=s, target=t, port=p, weight=w, kind="declared") for s, t, p, w in raw_edges]
    if reverse:
        servers.reverse()
        edges.reverse()
    return make_inputs(servers, edges)


def _rules(case: dict[str, Any]) -> PlanRules | None:
    return rules_from_config(case["rules"], case["max_wave_servers"]) if "rules" in case else None


def _plan(case: dict[str, Any], reverse: bool = False, rules: PlanRules | None = None) -> Plan:
    return build_plan(_inputs(case, reverse), plan_id="case", max_wave_servers=case["max_wave_servers"],
                      created_at="2026-01-01T00:00:00+00:00", rules=rules or _rules(case))


def _check_hard_rules(plan: Plan, inputs: PlannerInputs) -> None:
    placed = Counter(name for wave in plan.waves for name in wave.servers)
    assert set(placed) == {s.name for s in inputs.servers}
    assert all(count == 1 for count in placed.values()), "a server is in more than one wave"
    assert [w.index for w in plan.waves] == list(range(1, len(plan.waves) + 1))
    wave_of = {name: wave.index for wave in plan.waves for name in wave.servers}
    for app in plan.applications:
        assert len({wave_of[s] for s in app.servers}) == 1, f"application {app.name} is split"
        assert app.reason
    apps = {a.name: a for a in plan.applications}
    for wave in plan.waves:
        if len(wave.servers) > plan.max_wave_servers:
            assert len(wave.applications) == 1 and wave.applications[0] in plan.oversized
        assert sorted(s for a in wave.applications for s in apps[a].servers) == sorted(wave.servers)
    for name in plan.oversized:
        assert len(apps[name].servers) > plan.max_wave_servers or (plan.rules and plan.rules.max_wave_storage_gb)
    assert all(s.reason and s.reasons and s.wave == wave_of[s.name] for s in plan.servers)
    _check_rules(plan, inputs)


def _check_rules(plan: Plan, inputs: PlannerInputs) -> None:
    """Every constraint the plan records holds in the plan."""
    rules = plan.rules
    assert rules is not None
    by_name = {s.name: s for s in inputs.servers}
    wave_of = {s.name: s.wave for s in plan.servers}
    app_of = {s.name: s.application for s in plan.servers}
    shared = {s.name for s in plan.servers if s.role == "shared-service"}
    for wave in plan.waves:
        alone = len(wave.applications) == 1 and wave.applications[0] in plan.oversized
        if not alone:
            assert wave.max_servers is not None and len(wave.servers) <= wave.max_servers <= rules.max_wave_servers
            storage = sum(by_name[s].disk_gb or 0 for s in wave.servers)
            assert rules.max_wave_storage_gb is None or storage <= rules.max_wave_storage_gb
        if wave.pilot:
            assert wave.index == 1 and all(by_name[s].environment == "nonprod" and
                                           by_name[s].criticality in rules.pilot_criticality for s in wave.servers)
        if rules.separate_environments:
            assert len({by_name[s].environment == "nonprod" for s in wave.servers}) == 1, wave.servers
    for e in inputs.edges:
        if e.port in rules.hard_ports and not {e.source, e.target} & shared and app_of[e.source] != app_of[e.target]:
            assert wave_of[e.target] <= wave_of[e.source], f"hard provider {e.target} after consumer {e.source}"
    for name, wave_index in rules.pins:
        assert all(s.wave == wave_index for s in plan.servers if name in (s.name, s.application)), name
    for group in rules.anti_affinity:
        waves = [{s.wave for s in plan.servers if n in (s.name, s.application)} for n in group]
        assert all(not (a & b) for i, a in enumerate(waves) for b in waves[i + 1:]), group
    _check_calendar(plan, inputs)


def _check_calendar(plan: Plan, inputs: PlannerInputs) -> None:
    """Freezes, zone limits and replication windows hold; waves are dated in order when there is a calendar."""
    rules = plan.rules
    assert rules is not None
    by_name = {s.name: s for s in inputs.servers}
    dated = [w for w in plan.waves if w.start]
    assert [w.start for w in dated] == sorted(w.start for w in dated if w.start)
    for server in plan.servers:
        wave = plan.wave(server.wave)
        for f in rules.freezes:
            scoped = f.agencies or f.applications or f.servers or f.sites
            covered = not scoped or by_name[server.name].agency in f.agencies or server.application in \
                f.applications or server.name in f.servers or server.site in f.sites
            if covered and wave.start and wave.end:
                assert wave.end < f.start or f.end < wave.start, (server.name, f.name, wave.start, wave.end)
    for wave in plan.waves:
        for use in wave.zone_use:
            assert use.max_servers is None or use.servers <= use.max_servers, use
            assert use.max_vcpu is None or use.vcpu <= use.max_vcpu, use
            assert use.max_memory_gb is None or use.memory_gb <= use.max_memory_gb + 1e-6, use
        if wave.window_hours is not None and len(wave.applications) > 1:
            assert all(r.hours is None or r.hours <= wave.window_hours for r in wave.replication_by_site), wave


def _check_totals(plan: Plan, expect: dict[str, Any]) -> None:
    if "waves" in expect:
        assert len(plan.waves) == expect["waves"]
    if "wave_sizes" in expect:
        assert [len(w.servers) for w in plan.waves] == expect["wave_sizes"]
    if "oversized" in expect:
        assert list(plan.oversized) == expect["oversized"]
    if "cross_wave_weight" in expect:
        assert plan.cross_wave_weight == expect["cross_wave_weight"]
    for text in expect.get("note_contains", []):
        assert any(text in note for note in plan.notes), plan.notes


def _check_expectations(plan: Plan, expect: dict[str, Any]) -> None:
    _check_totals(plan, expect)
    wave_of = {s.name: s.wave for s in plan.servers}
    apps = {a.name: a for a in plan.applications}
    for name, members in expect.get("applications", {}).items():
        assert list(apps[name].servers) == members
    for group in expect.get("same_wave", []):
        assert len({wave_of[s] for s in group}) == 1, group
    for group in expect.get("different_wave", []):
        assert len({wave_of[s] for s in group}) == len(group), group
    if "shared" in expect:
        assert sorted(s.name for s in plan.servers if s.role == "shared-service") == sorted(expect["shared"])
    for name in expect.get("last_wave", []):
        assert wave_of[name] == len(plan.waves)
    for name in expect.get("first_wave", []):
        assert wave_of[name] == 1
    for name in expect.get("alone_in_wave", []):
        assert plan.wave(apps[name].wave).applications == (name,)
    for name, index in expect.get("wave_of", {}).items():
        assert wave_of[name] == index, (name, wave_of[name])
    for index, (start, end) in expect.get("wave_dates", {}).items():
        assert (plan.wave(index).start, plan.wave(index).end) == (start, end), plan.wave(index)
    for index, hours in expect.get("wave_replication_hours", {}).items():
        assert plan.wave(index).replication_hours == hours, plan.wave(index)
    for text in expect.get("reason_contains", []):
        server, needle = text.split(": ", 1)
        assert any(needle in r for r in plan.server(server).reasons), plan.server(server).reasons


def _cases() -> list[Path]:
    return sorted(CASES.glob("*.yaml"))


def test_there_are_enough_cases() -> None:
    assert len(_cases()) >= 8


@pytest.mark.parametrize("path", _cases(), ids=lambda p: p.stem)
def test_planner_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    if "infeasible" in case:
        with pytest.raises(InfeasiblePlan) as info:
            _plan(case)
        for text in case["infeasible"].get("message_contains", []):
            assert text in info.value.message
        assert set(case["infeasible"].get("items", [])) <= set(info.value.items), info.value.items
        assert set(case["infeasible"].get("constraints", [])) <= set(info.value.constraints)
        assert info.value.hint
        return
    plan = _plan(case)
    _check_hard_rules(plan, _inputs(case))
    _check_expectations(plan, case.get("expect") or {})
    assert dump_plan(_plan(case, reverse=True)) == dump_plan(plan), "not deterministic"


@pytest.mark.parametrize("path", [p for p in _cases() if "bites" in yaml.safe_load(p.read_text())],
                         ids=lambda p: p.stem)
def test_constraint_case_would_fail_without_its_constraint(path: Path) -> None:
    """The case's expectations do not hold when the planner runs without the case's [plan] rules."""
    case = yaml.safe_load(path.read_text())
    plain = _plan(case, rules=PlanRules(max_wave_servers=case["max_wave_servers"], hard_ports=()))
    with pytest.raises(AssertionError):
        _check_expectations(plain, case["expect"])
