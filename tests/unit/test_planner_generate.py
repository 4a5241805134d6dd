"""The seeded estate generator used by the planner benchmarks, and the planner's hard rules on its estates."""

from __future__ import annotations

from collections import Counter

from orchestrator.plan import PlanRules
from orchestrator.planner import build_plan
from orchestrator.planner.generate import EstateShape, generate_estate


def test_same_seed_same_estate_and_default_size() -> None:
    estate = generate_estate()
    assert estate.digest() == generate_estate().digest()
    assert estate.digest() != generate_estate(EstateShape(seed=2)).digest()
    assert 2700 <= len(estate.servers) <= 2800
    assert len(estate.edges) >= 20000
    known = {s.name for s in estate.servers}
    assert all(e.source in known and e.target in known and e.source != e.target for e in estate.edges)


def test_plan_of_a_generated_estate_keeps_every_constraint() -> None:
    estate = generate_estate(EstateShape(servers=300, seed=7))
    rules = PlanRules(max_wave_servers=20, pilot_servers=10, ramp=(12, 16), max_wave_storage_gb=15000,
                      separate_environments=True)
    plan = build_plan(estate, plan_id="g", max_wave_servers=20, created_at="t", rules=rules)
    placed = Counter(name for wave in plan.waves for name in wave.servers)
    assert set(placed) == {s.name for s in estate.servers} and set(placed.values()) == {1}
    env = {s.name: s.environment for s in estate.servers}
    wave_of = {s.name: s.wave for s in plan.servers}
    for wave in plan.waves:
        assert len(wave.servers) <= (wave.max_servers or 0) or wave.applications[0] in plan.oversized
        assert len({env[s] for s in wave.servers}) == 1
    assert plan.waves[0].pilot and len(plan.waves[0].servers) <= 10
    shared = {s.name for s in plan.servers if s.role == "shared-service"}
    app = {s.name: s.application for s in plan.servers}
    for e in estate.edges:
        if e.port in rules.hard_ports and app[e.source] != app[e.target] and not {e.source, e.target} & shared:
            assert wave_of[e.target] <= wave_of[e.source]
    again = build_plan(estate, plan_id="g", max_wave_servers=20, created_at="t", rules=rules)
    assert again == plan


def test_plan_is_byte_identical_across_hash_seeds() -> None:
    """Set and dict orders must not leak into the plan: two interpreters with different hash seeds agree."""
    import os
    import subprocess
    import sys

    script = ("import hashlib\n"
              "from orchestrator.plan import dump_plan\n"
              "from orchestrator.planner import build_plan\n"
              "from orchestrator.planner.constraints import rules_from_config\n"
              "from orchestrator.planner.generate import EstateShape, generate_estate\n"
              "estate = generate_estate(EstateShape(servers=200, seed=5))\n"
              "rules = rules_from_config({'ramp': [8], 'separate_environments': True})\n"
              "plan = build_plan(estate, plan_id='h', max_wave_servers=25, created_at='t', rules=rules)\n"
              "print(hashlib.sha256(dump_plan(plan).encode()).hexdigest())\n")
    digests = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(digests) == 1
