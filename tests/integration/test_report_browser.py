"""The HTML report in a real headless browser (Debian's chromium): no console errors, the graph and the
timeline render, filters and expansion work from the URL, hostile names stay text, and a screenshot is made.

Screenshots go to the test's temporary directory, or to $PINDAH_SCREENSHOTS when set (CI keeps them)."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest
from headless import CHROMIUM, Browser, load, screenshot

from orchestrator.planner import build_plan
from orchestrator.planner.constraints import rules_from_config
from orchestrator.planner.generate import EstateShape, generate_estate
from orchestrator.planner.inputs import PlannerInputs, make_inputs
from orchestrator.planner.sizing import Catalog, DiskType, Flavor
from orchestrator.report import RunRow
from orchestrator.reporting import OnPremCost, Report, ReportSources, build_report, render_html, report_json

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")]

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"
CATALOG = Catalog(flavors=(Flavor(name="s4", vcpu=8, memory_gb=16, price_month=900_000),),
                  disk_types=(DiskType(name="std", price_gb_month=1200),))


def _estate() -> PlannerInputs:
    raw = generate_estate(EstateShape(servers=150, seed=3))
    rng = random.Random(3)
    oses = ["Debian GNU/Linux 12 (bookworm)", "CentOS Linux 7 (Core)", "Rocky Linux 9.3", IMG]
    servers = [s.model_copy(update={"os": rng.choice(oses), "imported": True}) for s in raw.servers]
    # what a scanned host controls: its OS name and (through the inventory) its name and site
    servers[0] = servers[0].model_copy(update={"site": SCRIPT, "os": SCRIPT})
    return make_inputs(servers, raw.edges)


@pytest.fixture(scope="module")
def report() -> Report:
    inputs = _estate()
    rules = rules_from_config({"start_date": "2027-01-04", "wave_days": 14, "default_bandwidth_mbps": 100}, 40)
    plan = build_plan(inputs, plan_id="browser", max_wave_servers=40, created_at="t", catalog=CATALOG, rules=rules)
    first = plan.waves[0]
    runs = [RunRow("browser", 1, s, "done" if i % 3 else "failed", "validate", f"{IMG} exited 1" if i % 3 == 0
                   else None) for i, s in enumerate(first.servers)]
    return build_report(ReportSources(generated_at="now", servers=inputs.servers, plan=plan, runs=runs,
                                      onprem=OnPremCost(server_month=1_200_000)))


@pytest.fixture(scope="module")
def page_file(report: Report, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


def _keep(png: Path) -> None:
    target = os.environ.get("PINDAH_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, Path(target) / png.name)


def test_page_renders_everything_without_console_errors(report: Report, page_file: Path) -> None:
    page = load(page_file)
    assert page.console == []
    status = page.status
    assert status["ready"] == "1" and status["errors"] == "0"
    data = json.loads(report_json(report))
    # the page drew what the JSON export holds
    assert int(status["servers"]) == len(data["servers"])
    assert int(status["graph-nodes"]) == len(data["graph"]["nodes"]) > 10
    assert int(status["graph-edges"]) == len(data["graph"]["edges"])
    assert int(status["graph-drawn-nodes"]) == len(data["graph"]["nodes"])
    assert int(status["graph-drawn-edges"]) > 0
    assert int(status["timeline-bars"]) == int(status["wave-rows"]) == len(data["waves"])
    assert int(status["blockers"]) == len(data["blockers"])
    assert page.dom.count('class="tbar ') == len(data["waves"])
    assert "Dates from the plan: 2027-01-04" in page.dom


def test_hostile_names_are_shown_as_text(page_file: Path) -> None:
    page = load(page_file)
    assert page.console == [] and page.status["errors"] == "0"
    assert "<img" not in page.dom  # the report itself has no image: any would be injected
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.dom  # shown as text (OS breakdown)
    assert page.dom.count("<script") == 3  # the error hook, the data block, the page script: nothing injected
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page.dom  # the site list


def test_filter_and_expand_from_the_url(report: Report, page_file: Path) -> None:
    app = next(n for n in report.graph.nodes if not n.shared and len(n.servers) > 1)
    page = load(page_file, fragment=f"app={app.name}&expand={app.name}&open=1")
    assert page.console == [] and page.status["ready"] == "1"
    drawn = int(page.status["graph-drawn-nodes"])
    assert 1 <= drawn < len(report.graph.nodes)  # the application and its neighbours only
    assert int(page.status["graph-expanded"]) == 1
    assert int(page.status["graph-drawn-servers"]) == len(app.servers)
    assert 'data-wave="1" open="" data-rendered="1"' in page.dom  # wave 1's server table, rendered on opening
    assert report.servers[report.waves[0].servers[0]].name in page.dom


def test_screenshot_is_written(page_file: Path, tmp_path: Path) -> None:
    png = tmp_path / "report-browser.png"
    console = screenshot(page_file, png)
    assert console == []
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000
    _keep(png)


def _view(browser: Browser) -> dict[str, float]:
    raw = browser.evaluate("JSON.stringify(window.pindahReport.view)")
    assert isinstance(raw, str)
    view: dict[str, float] = json.loads(raw)
    return view


def _rect(browser: Browser, selector: str) -> list[float]:
    rect = browser.evaluate(f"(function(){{var e=document.querySelector({selector!r}); e.scrollIntoView({{block:"
                            f"'center'}}); var r=e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height];}})()")
    assert isinstance(rect, list)
    return [float(v) for v in rect]


def test_mouse_and_keyboard_drive_the_page(report: Report, page_file: Path, tmp_path: Path) -> None:
    node = next(n for n in report.graph.nodes if not n.shared and len(n.servers) > 1)
    with Browser() as browser:
        browser.open(page_file)
        browser.wait("ready", lambda v: v == "1")
        left, top, width, height = _rect(browser, "#graph")
        view = _view(browser)
        # a real click on the application's node expands it into its servers and shows its details
        browser.click(left + view["tx"] + node.x * view["scale"], top + view["ty"] + node.y * view["scale"])
        status = browser.wait("graph-expanded", lambda v: v == "1")
        assert int(status["graph-drawn-servers"]) == len(node.servers)
        info = browser.evaluate("document.getElementById('graph-info').textContent")
        assert isinstance(info, str) and node.name in info
        # the wheel zooms in around the pointer, a drag pans (and expands nothing)
        centre = (left + width / 2, top + height / 2)
        browser.wheel(*centre, -400)
        browser.until(f"window.pindahReport.view.scale > {view['scale'] * 1.5}")
        zoomed = _view(browser)
        assert zoomed["scale"] > view["scale"] * 1.5
        browser.drag(centre, (centre[0] + 120, centre[1] + 40))
        panned = _view(browser)
        assert abs(panned["tx"] - zoomed["tx"] - 120) < 2 and abs(panned["ty"] - zoomed["ty"] - 40) < 2
        assert browser.status()["graph-expanded"] == "1"
        # typing an application name filters the graph to it and its neighbours
        browser.type_into("#f-app", node.name)
        status = browser.wait("graph-drawn-nodes", lambda v: int(v) < len(report.graph.nodes))
        assert int(status["graph-drawn-nodes"]) >= 1
        # clicking a wave's summary renders its server table
        s_left, s_top, _, s_height = _rect(browser, 'details[data-wave="2"] summary')
        browser.click(s_left + 20, s_top + s_height / 2)
        rows = browser.until('document.querySelectorAll(\'details[data-wave="2"] tbody tr\').length')
        assert rows == len(report.waves[1].servers)
        png = tmp_path / "report-interactive.png"
        _rect(browser, "#graph")  # the graph as the clicks, zoom, pan and filter left it
        browser.screenshot(png)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        _keep(png)
        browser.evaluate("1")  # flush pending console events
    assert browser.console == []
