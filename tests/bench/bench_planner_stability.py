"""Planner stability: how many servers change wave when one dependency edge is added, or when one application
is moved (pinned to another wave), planning afresh and planning from the previous plan (`plan create --base`).
Prints figures; asserts nothing.

Run: python tests/bench/bench_planner_stability.py   (a few minutes: every trial plans 2,700 servers)
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict

from orchestrator.plan import Plan
from orchestrator.planner import EdgeInput, PlannerInputs, build_plan, make_inputs
from orchestrator.planner.constraints import rules_from_config
from orchestrator.planner.diff import diff_plans
from orchestrator.planner.generate import EstateShape, generate_estate

TRIALS = 4


def _plan(estate: PlannerInputs, pins: dict[str, int] | None = None, base: Plan | None = None) -> Plan:
    rules = rules_from_config({"pins": pins or {}})
    return build_plan(estate, plan_id="s", max_wave_servers=rules.max_wave_servers, created_at="t", rules=rules,
                      base=base)


def _report(label: str, changed: list[int], total: int) -> None:
    print(f"{label}: servers changing wave over {len(changed)} trials: median {statistics.median(changed):g} "
          f"({statistics.median(changed) / total:.1%}), max {max(changed)} ({max(changed) / total:.1%}), "
          f"all: {changed}")


def main() -> None:
    estate = generate_estate(EstateShape(seed=1))
    base = _plan(estate)
    total = len(estate.servers)
    regular = sorted({s.application for s in estate.servers if s.application and s.role != "shared-service"})
    servers_of = {app: [s.name for s in estate.servers if s.application == app] for app in regular}
    rng = random.Random(7)
    print(f"estate: {total} servers, {len(estate.edges)} edges, {len(base.waves)} waves")
    added: dict[str, list[int]] = {"fresh": [], "with --base": []}
    for _ in range(TRIALS):
        a, b = rng.sample(regular, 2)
        edge = EdgeInput(source=rng.choice(servers_of[a]), target=rng.choice(servers_of[b]), port=8080,
                         weight=10.0, kind="declared")
        changed = make_inputs(estate.servers, (*estate.edges, edge))
        added["fresh"].append(len(diff_plans(base, _plan(changed)).moved))
        added["with --base"].append(len(diff_plans(base, _plan(changed, base=base)).moved))
    for mode, counts in added.items():
        _report(f"one added edge (weight 10), {mode}", counts, total)
    moved: dict[str, list[int]] = defaultdict(list)
    shared = {s.name for s in estate.servers if s.role == "shared-service"}
    waves = sorted({a.wave for a in base.applications if a.name in servers_of})
    for _ in range(TRIALS):
        app = rng.choice(regular)
        here = next(a.wave for a in base.applications if a.name == app)
        target = rng.choice([w for w in waves if w != here and w > 1])
        for mode, warm in (("fresh", None), ("with --base", base)):
            changed = diff_plans(base, _plan(estate, {app: target}, base=warm))
            moved[mode].append(sum(1 for m in changed.moved if m.application != app))
            moved[f"{mode}, shared services not counted"].append(
                sum(1 for m in changed.moved if m.application != app and m.name not in shared))
    for mode, counts in moved.items():
        _report(f"one application pinned to another wave (its own servers not counted), {mode}", counts, total)
    print("(shared services move in the waves after the last regular wave: when a pin adds a regular wave, every "
          "shared service's wave number grows by one)")


if __name__ == "__main__":
    main()
