"""Planner speed on generated estates (~2,700 servers, >= 20,000 edges). Prints figures; asserts nothing timed.

CPU time is printed next to wall time: on a busy machine the wall time says more about the neighbours.

Run: python tests/bench/bench_planner_speed.py
"""

from __future__ import annotations

import statistics
import time

from orchestrator.plan import PlanRules
from orchestrator.planner import build_plan
from orchestrator.planner.constraints import rules_from_config
from orchestrator.planner.generate import EstateShape, generate_estate

RULES = {
    "workspace defaults (pilot 5, database ports hard)": rules_from_config({}),
    "pilot + ramp 10/15 + 20 TB per wave + separate environments": rules_from_config(
        {"ramp": [10, 15], "max_wave_storage_gb": 20000, "separate_environments": True}),
    "capacity only": PlanRules(max_wave_servers=25, hard_ports=()),
    "calendar (weekly waves) + 3 agency freezes + 100 Mbit/s per site + zone of 150 vCPU per wave": rules_from_config(
        {"start_date": "2027-01-04", "default_bandwidth_mbps": 100, "zones": {"z": {"max_vcpu": 150}},
         "freeze": [{"name": f"f{i}", "start": f"2027-0{i + 1}-01", "end": f"2027-0{i + 1}-20",
                     "agencies": [f"ag{i:03d}", f"ag{i + 10:03d}"]} for i in (1, 2, 3)]}),
}


def main() -> None:
    for seed in (1, 2, 3):
        estate = generate_estate(EstateShape(seed=seed))
        print(f"estate seed {seed}: {len(estate.servers)} servers, {len(estate.edges)} edges")
        for label, rules in RULES.items():
            wall, cpu = [], []
            for _ in range(3):
                start, start_cpu = time.perf_counter(), time.process_time()
                plan = build_plan(estate, plan_id="bench", max_wave_servers=25, created_at="t", rules=rules)
                wall.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            print(f"  {label}: wall median {statistics.median(wall):.2f} s (max {max(wall):.2f}), CPU median "
                  f"{statistics.median(cpu):.2f} s ({len(plan.waves)} waves, cross-wave weight "
                  f"{plan.cross_wave_weight:g})")


if __name__ == "__main__":
    main()
