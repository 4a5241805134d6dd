"""Planner quality: cross-wave weight against the exact optimum (OR-Tools CP-SAT) on small estates, and
against METIS and size-only first-fit packing on 2,700-server estates. Prints every ratio; asserts nothing.

Needs the bench extras: pip install -e '.[bench]'. Run: python tests/bench/bench_planner_quality.py

Small instances: generated estates of 2-3 agencies (14-21 applications, no shared services), wave limit
12/15/20. The planner runs with capacity only (and again with database ports hard, where the provider moves
no later than its consumer); CP-SAT gets the same number of waves as the planner used, the same limits and
the same order constraints, 20 s per instance. Ratio = planner / optimum (1.0 = optimal).
Large instances: the application-contracted graph of regular servers. METIS (pymetis) is asked for the
planner's number of waves; it balances parts but does not honour the wave limit (its largest part is printed),
so for a fair comparison its parts are repaired to the limit (overfull parts give away the applications that
cost least to move, to the part with room they are most linked to) and compared at the same number of waves;
the best repaired METIS result from a few fewer parts that still fits in the planner's wave count is printed
too. First-fit decreasing packs by size only. ``--large`` runs only the large instances.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from collections import defaultdict

from orchestrator.plan import Plan, PlanRules
from orchestrator.planner import PlannerInputs, build_plan
from orchestrator.planner.constraints import InfeasiblePlan
from orchestrator.planner.generate import EstateShape, contracted, cut_of, generate_estate

try:
    import pymetis
    from ortools.sat.python import cp_model
except ImportError:  # pragma: no cover - printed, not raised: the other benchmarks still run
    print("skipped: needs ortools and pymetis (pip install -e '.[bench]')")
    sys.exit(0)

HARD = PlanRules(max_wave_servers=1).hard_ports


def _hard_pairs(inputs: PlannerInputs) -> set[tuple[str, str]]:
    app = {s.name: s.application for s in inputs.servers}
    return {(app[e.source], app[e.target]) for e in inputs.edges
            if e.port in HARD and app[e.source] != app[e.target] and app[e.source] and app[e.target]}


def exact(size: dict[str, int], weights: dict[tuple[str, str], float], cap: int, waves: int,
          order: set[tuple[str, str]]) -> tuple[float, str]:
    model = cp_model.CpModel()
    apps = sorted(size)
    x = {(a, k): model.NewBoolVar(f"x_{a}_{k}") for a in apps for k in range(waves)}
    for a in apps:
        model.AddExactlyOne(x[a, k] for k in range(waves))
    for k in range(waves):
        model.Add(sum(size[a] * x[a, k] for a in apps) <= cap)
    index = {a: sum(k * x[a, k] for k in range(waves)) for a in apps}
    for consumer, provider in order:
        model.Add(index[provider] <= index[consumer])
    together = []
    for (a, b), w in weights.items():
        same = model.NewBoolVar(f"s_{a}_{b}")
        for k in range(waves):
            model.Add(x[a, k] - x[b, k] <= 1 - same)
        together.append((round(w), same))
    model.Maximize(sum(w * s for w, s in together))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 20
    solver.parameters.num_workers = 2
    status = solver.Solve(model)
    return sum(round(w) for w in weights.values()) - solver.ObjectiveValue(), solver.StatusName(status)


def _plan_cut(plan: Plan, size: dict[str, int], weights: dict[tuple[str, str], float]) -> tuple[float, int]:
    part = {a.name: a.wave for a in plan.applications if a.name in size}
    return cut_of(weights, part), len(set(part.values()))


def small(hard: bool) -> None:
    label = "capacity + database ports hard" if hard else "capacity only"
    ratios: list[float] = []
    for seed in range(1, 80):
        if len(ratios) == 24:
            break
        estate = generate_estate(EstateShape(servers=10**6, agencies=2 + seed % 2, seed=seed, shared=False))
        size, weights = contracted(estate)
        cap = (12, 15, 20)[seed % 3]
        rules = PlanRules(max_wave_servers=cap) if hard else PlanRules(max_wave_servers=cap, hard_ports=())
        start = time.perf_counter()
        try:
            plan = build_plan(estate, plan_id="q", max_wave_servers=cap, created_at="t", rules=rules)
        except InfeasiblePlan as exc:
            print(f"  seed {seed:2d}: infeasible, skipped ({exc.message[:90]}...)")
            continue
        took = time.perf_counter() - start
        ours, waves = _plan_cut(plan, size, weights)
        best, status = exact(size, weights, cap, waves, _hard_pairs(estate) if hard else set())
        ratio = ours / best if best else (1.0 if ours == 0 else float("inf"))
        ratios.append(ratio)
        print(f"  seed {seed:2d}: {len(size)} apps, {sum(size.values())} servers, limit {cap}, {waves} waves: planner "
              f"{ours:g} ({took:.2f} s), CP-SAT {best:g} ({status}), ratio {ratio:.3f}")
    print(f"CP-SAT ({label}, {len(ratios)} instances): median ratio {statistics.median(ratios):.3f}, "
          f"max {max(ratios):.3f}, optimal in {sum(r <= 1.0 + 1e-9 for r in ratios)}")


def _metis(size: dict[str, int], weights: dict[tuple[str, str], float], parts: int, cap: int
           ) -> tuple[float, int, float, int]:
    """(cut, largest part) of METIS as it is, and (cut, parts) after repairing it to respect ``cap``."""
    apps = sorted(size)
    index = {a: i for i, a in enumerate(apps)}
    adjacency: list[list[tuple[int, int]]] = [[] for _ in apps]
    for (a, b), w in weights.items():
        adjacency[index[a]].append((index[b], max(1, round(w))))
        adjacency[index[b]].append((index[a], max(1, round(w))))
    xadj, adjncy, eweights = [0], [], []
    for row in adjacency:
        adjncy += [n for n, _ in row]
        eweights += [w for _, w in row]
        xadj.append(len(adjncy))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, membership = pymetis.part_graph(parts, xadj=xadj, adjncy=adjncy, vweights=[size[a] for a in apps],
                                           eweights=eweights, options=pymetis.Options(ufactor=1, seed=1))
    part = {a: membership[index[a]] for a in apps}
    loads: dict[int, int] = defaultdict(int)
    for a in apps:
        loads[part[a]] += size[a]
    fixed = _repair(size, weights, part, cap)
    return cut_of(weights, part), max(loads.values()), cut_of(weights, fixed), len(set(fixed.values()))


def _repair(size: dict[str, int], weights: dict[tuple[str, str], float], part: dict[str, int], cap: int
            ) -> dict[str, int]:
    """METIS's parts made to respect the wave limit: while a part is over it, move the application whose move
    costs least (weight kept to its part minus weight gained) to the part with room that it is most linked to
    (a new part when none has room). Deterministic."""
    part = dict(part)
    links: dict[str, dict[str, float]] = defaultdict(dict)
    for (a, b), w in weights.items():
        links[a][b] = links[b][a] = w
    loads: dict[int, int] = defaultdict(int)
    for app, k in part.items():
        loads[k] += size[app]
    for k in sorted(loads):
        while loads[k] > cap:
            best: tuple[float, str, int] | None = None
            for app in sorted(a for a in part if part[a] == k):
                to: dict[int, float] = defaultdict(float)
                for other, w in links[app].items():
                    to[part[other]] += w
                for target in sorted(loads):
                    if target != k and loads[target] + size[app] <= cap:
                        cost = to[k] - to[target]
                        if best is None or cost < best[0]:
                            best = (cost, app, target)
            if best is None:  # nowhere to go: the largest application opens a new part
                app = max((a for a in part if part[a] == k), key=lambda a: (size[a], a))
                best = (0.0, app, max(loads) + 1)
            _, app, target = best
            part[app] = target
            loads[k] -= size[app]
            loads[target] += size[app]
    return part


def _first_fit(size: dict[str, int], weights: dict[tuple[str, str], float], cap: int) -> tuple[float, int]:
    waves: list[list[int]] = []
    part: dict[str, int] = {}
    for app in sorted(size, key=lambda a: (-size[a], a)):
        slot = next((i for i, w in enumerate(waves) if w[0] + size[app] <= cap), None)
        if slot is None:
            waves.append([0])
            slot = len(waves) - 1
        waves[slot][0] += size[app]
        part[app] = slot
    return cut_of(weights, part), len(waves)


def large() -> None:
    cap = 25
    ratios: dict[str, list[float]] = defaultdict(list)
    for seed in (1, 2, 3):
        estate = generate_estate(EstateShape(seed=seed))
        size, weights = contracted(estate)
        start = time.perf_counter()
        plan = build_plan(estate, plan_id="l", max_wave_servers=cap, created_at="t",
                          rules=PlanRules(max_wave_servers=cap, hard_ports=()))
        took = time.perf_counter() - start
        ours, waves = _plan_cut(plan, size, weights)
        raw, largest, repaired, repaired_parts = _metis(size, weights, waves, cap)
        best_fair, best_parts = repaired, waves
        for parts in range(waves - 3, waves + 1):  # fewer parts, repaired back to the limit, may do better
            _, _, cut, used = _metis(size, weights, parts, cap)
            if used <= waves and cut < best_fair:
                best_fair, best_parts = cut, parts
        packed, packed_waves = _first_fit(size, weights, cap)
        print(f"seed {seed}: {len(estate.servers)} servers, {len(size)} applications, {len(weights)} linked pairs, "
              f"limit {cap}; planner {took:.2f} s")
        print(f"  planner: {ours:g} over {waves} waves")
        print(f"  METIS, {waves} parts, as it is: {raw:g} (largest part {largest} servers, over the limit of {cap}); "
              f"ratio planner/METIS {ours / raw:.3f} (not comparable: it breaks the limit)")
        print(f"  METIS, {waves} parts, repaired to the limit: {repaired:g} over {repaired_parts} parts; "
              f"ratio planner/METIS {ours / repaired:.3f}")
        print(f"  METIS, best of {waves - 3}..{waves} parts repaired to the limit within {waves} waves: "
              f"{best_fair:g} (from {best_parts} parts); ratio planner/METIS {ours / best_fair:.3f}")
        print(f"  first-fit by size: {packed:g} over {packed_waves} waves; ratio packing/planner {packed / ours:.2f}")
        ratios["planner / repaired METIS, same waves"].append(ours / repaired)
        ratios["planner / best repaired METIS within the waves"].append(ours / best_fair)
        ratios["planner / METIS as it is (over the limit)"].append(ours / raw)
        ratios["packing / planner"].append(packed / ours)
    for label, values in ratios.items():
        print(f"{label}: {', '.join(f'{v:.3f}' for v in values)} (max {max(values):.3f})")


def main() -> None:
    if "--large" not in sys.argv:
        for hard in (False, True):
            small(hard)
    large()


if __name__ == "__main__":
    main()
