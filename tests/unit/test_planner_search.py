"""The local search's one-for-two exchange: with full waves, one unit trades places with two units."""

from __future__ import annotations

from orchestrator.plan import PlanRules
from orchestrator.planner import EdgeInput, ServerInput, make_inputs
from orchestrator.planner.build import app_weights
from orchestrator.planner.grouping import dependency_graph, group_servers, shared_services
from orchestrator.planner.improve import _Search, cut_weight
from orchestrator.planner.units import build_problem
from orchestrator.planner.waves import Assignment, WaveBox, add_load


def test_one_for_two_exchange_joins_partners_in_full_waves() -> None:
    servers = [ServerInput(name=n, application=app) for n, app in (
        ("a1", "a"), ("a2", "a"), ("x1", "x1"), ("x2", "x2"), ("b1", "b"), ("b2", "b"), ("y1", "y"), ("y2", "y"))]
    edges = [EdgeInput(source=s, target=t, port=80, weight=w, kind="declared")
             for s, t, w in (("a1", "b1", 10), ("x1", "y1", 3), ("x2", "y2", 3))]
    inputs = make_inputs(servers, edges)
    graph = dependency_graph(inputs)
    groups = group_servers(inputs, graph, shared_services(inputs, graph))
    rules = PlanRules(max_wave_servers=4, hard_ports=())
    problem = build_problem(groups, inputs, rules, app_weights(groups, inputs))
    first, second = WaveBox(1, 4, False, False), WaveBox(2, 4, False, False)
    assignment = Assignment([first, second], {}, {})
    for box, names in ((first, ("a", "x1", "x2")), (second, ("b", "y"))):
        for name in names:
            unit = problem.units[name]
            box.members.append(name)
            box.size += unit.size
            box.envs[unit.env] += 1
            add_load(problem, assignment.zone_used, unit, box, 1.0)
            assignment.wave_of[name] = box.index
    assert cut_weight(problem, assignment) == 16
    search = _Search(problem, assignment)
    assert search.one_for_two(first, second)
    assert cut_weight(problem, assignment) == 0
    assert sorted(first.members) == ["a", "b"] and sorted(second.members) == ["x1", "x2", "y"]
    assert first.size == 4 and second.size == 4
    assert not search.one_for_two(first, second)  # nothing left to gain
