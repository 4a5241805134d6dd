"""HTML report on a generated 2,700-server estate: file size, build time, and chromium's load and render time.

The estate comes from the planner's seeded generator, with an operating system per server (about one in ten
end-of-life), a small catalog (so cost shows), a calendar and a bandwidth (so dates and replication hours
show) and an on-premises cost. Chromium (Debian's
package) loads the file headless; the page records how long its script took to render everything
(``data-render-ms``); the wall time includes chromium's own start. Prints figures; asserts nothing timed.

Run: python tests/bench/bench_report_html.py [--servers 2700] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from orchestrator.planner import build_plan
from orchestrator.planner.constraints import rules_from_config
from orchestrator.planner.generate import EstateShape, generate_estate
from orchestrator.planner.inputs import PlannerInputs, make_inputs
from orchestrator.planner.sizing import Catalog, DiskType, Flavor
from orchestrator.reporting import OnPremCost, ReportSources, build_report, render_html, report_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import headless

OSES = (("Debian GNU/Linux 12 (bookworm)", 30), ("Rocky Linux 9.3 (Blue Onyx)", 25), ("Ubuntu 22.04.4 LTS", 25),
        ("Red Hat Enterprise Linux 8.9 (Ootpa)", 10), ("CentOS Linux 7 (Core)", 6), ("Ubuntu 18.04.6 LTS", 4))
CATALOG = Catalog(currency="IDR", flavors=(
    Flavor(name="s2.medium", vcpu=2, memory_gb=4, price_month=450_000),
    Flavor(name="s2.large", vcpu=2, memory_gb=8, price_month=700_000),
    Flavor(name="s4.large", vcpu=4, memory_gb=8, price_month=1_100_000),
    Flavor(name="s8.xlarge", vcpu=8, memory_gb=16, price_month=2_000_000)),
    disk_types=(DiskType(name="standard", price_gb_month=1_500),))


def estate(servers: int, seed: int) -> PlannerInputs:
    raw = generate_estate(EstateShape(servers=servers, seed=seed))
    rng = random.Random(seed)
    names, weights = zip(*OSES, strict=True)
    rows = [s.model_copy(update={"os": rng.choices(names, weights)[0], "imported": True}) for s in raw.servers]
    return make_inputs(rows, raw.edges)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=2700)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write report.html, report.json and report.png here")
    args = parser.parse_args()
    inputs = estate(args.servers, args.seed)
    start = time.perf_counter()
    plan = build_plan(inputs, plan_id="bench", max_wave_servers=100, created_at="2026-01-01T00:00:00+00:00",
                      catalog=CATALOG, rules=rules_from_config(
                          {"start_date": "2027-01-04", "default_bandwidth_mbps": 200}, 100))
    print(f"estate: {len(inputs.servers)} servers, {len(inputs.edges)} edges; plan: {len(plan.waves)} waves, "
          f"{len(plan.applications)} applications ({time.perf_counter() - start:.1f} s)")
    start = time.perf_counter()
    report = build_report(ReportSources(generated_at="2026-01-01T00:00:00+00:00", servers=inputs.servers, plan=plan,
                                        onprem=OnPremCost(server_month=1_500_000, gb_month=300)))
    built = time.perf_counter() - start
    start = time.perf_counter()
    page, data = render_html(report), report_json(report)
    rendered = time.perf_counter() - start
    print(f"report model {built * 1000:.0f} ms, HTML + JSON rendering {rendered * 1000:.0f} ms")
    out = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / "report.html"
    html_path.write_text(page, encoding="utf-8")
    (out / "report.json").write_text(data, encoding="utf-8")
    print(f"HTML file: {len(page.encode()) / 1e6:.2f} MB (JSON export {len(data.encode()) / 1e6:.2f} MB)")
    print(f"graph: {len(report.graph.nodes)} nodes, {len(report.graph.edges)} application edges, "
          f"{len(report.graph.links)} server links; {len(report.blockers)} blockers")
    if headless.CHROMIUM is None:
        print("chromium not installed: no load/render figures (apt-get install chromium)")
        return
    for run in range(3):
        loaded = headless.load(html_path)
        status = loaded.status
        print(f"chromium run {run + 1}: page script {status.get('render-ms')} ms to render everything, "
              f"chromium wall {loaded.seconds:.2f} s (start + load + dump), nodes drawn "
              f"{status.get('graph-drawn-nodes')}, links drawn {status.get('graph-drawn-edges')}, "
              f"timeline bars {status.get('timeline-bars')}, console lines {len(loaded.console)}")
    expanded = headless.load(html_path, fragment=f"expand={report.graph.nodes[0].name}&open=1")
    print(f"one application expanded + wave 1 table open: {expanded.status.get('render-ms')} ms, "
          f"{expanded.status.get('graph-drawn-servers')} servers drawn")
    interactive(html_path)
    if args.keep:
        headless.screenshot(html_path, out / "report.png")
        print(f"kept in {out}")


def interactive(html_path: Path) -> None:
    """Navigation timing and the cost of one graph frame (what a zoom or pan step costs), over DevTools."""
    with headless.Browser() as browser:
        start = time.perf_counter()
        browser.open(html_path)
        browser.wait("ready", lambda v: v == "1")
        ready = time.perf_counter() - start
        nav = browser.evaluate("(function(){var n=performance.getEntriesByType('navigation')[0];"
                               "return [n.domContentLoadedEventEnd, n.loadEventEnd];})()")
        frames = [browser.evaluate("window.pindahReport.redraw()") for _ in range(10)]
        browser.evaluate("document.getElementById('f-shared').click()")
        shared = [browser.evaluate("window.pindahReport.redraw()") for _ in range(10)]
        drawn = browser.evaluate("JSON.stringify(window.pindahReport.drawn())")
    assert isinstance(nav, list)
    print(f"DevTools: navigate to ready {ready:.2f} s; DOMContentLoaded {nav[0]:.0f} ms, load {nav[1]:.0f} ms; "
          f"one graph frame {median(frames):.1f} ms (median of 10), with shared-service links "
          f"{median(shared):.1f} ms ({drawn}); console lines {len(browser.console)}")


def median(values: list[object]) -> float:
    numbers = sorted(float(v) for v in values if isinstance(v, int | float))
    return numbers[len(numbers) // 2] if numbers else float("nan")


if __name__ == "__main__":
    main()
