"""Review and CI costs at estate scale: audit append/verify, the run gate's checks, plan check. Prints figures.

Run: python tests/bench/bench_review.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from orchestrator import audit
from orchestrator.plancheck import findings
from orchestrator.planner import build_plan, make_inputs
from orchestrator.planner.generate import EstateShape, generate_estate
from orchestrator.planner.inputs import EdgeInput
from orchestrator.store import Store

ENTRIES = 20_000


def bench_audit(root: Path) -> None:
    with Store.open(root / "state.db", create=True) as store:
        start = time.perf_counter()
        for n in range(ENTRIES):
            audit.record(store, kind="discovery", subject=f"snapshot {n}", data={"hosts": 2700, "unreachable": []},
                         actor="bench")
        appended = time.perf_counter() - start
        start = time.perf_counter()
        result = audit.verify(store)
        verified = time.perf_counter() - start
    print(f"audit: {ENTRIES} appends in {appended:.2f} s ({appended / ENTRIES * 1000:.2f} ms each, one "
          f"transaction each); verify of {result.entries} entries {verified:.2f} s, ok={result.ok}")


def bench_plan_check() -> None:
    estate = generate_estate(EstateShape(seed=1))
    plan = build_plan(estate, plan_id="bench", max_wave_servers=25, created_at="t")
    start = time.perf_counter()
    same = findings(plan, estate)
    unchanged = time.perf_counter() - start
    wave = {s.name: s.wave for s in plan.servers}
    names = sorted(wave)
    extra = [EdgeInput(source=a, target=b, port=5432, weight=1.0, kind="observed")
             for a, b in zip(names[::50], names[25::50], strict=False) if wave[a] != wave[b]]
    drifted = make_inputs(estate.servers[10:], (*estate.edges, *extra), estate.external)
    start = time.perf_counter()
    found = findings(plan, drifted)
    changed = time.perf_counter() - start
    print(f"plan check: {len(plan.servers)} servers, {len(estate.edges)} edges, {len(plan.waves)} waves: "
          f"unchanged {unchanged * 1000:.0f} ms ({len(same)} findings); with 10 servers gone and "
          f"{len(extra)} new cross-wave edges {changed * 1000:.0f} ms ({len(found)} findings)")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench_audit(Path(tmp))
    bench_plan_check()


if __name__ == "__main__":
    main()
