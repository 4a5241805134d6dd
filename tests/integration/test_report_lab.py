"""The HTML report of a real lab estate: discover it, plan it, write the report through the CLI, load it in
headless chromium. The page must show what discovery found, with no console errors, and a screenshot is made."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from headless import CHROMIUM, load, screenshot
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.discover import discover
from orchestrator.workspace import init_workspace

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")]


def test_lab_report_in_the_browser(lab: Any, tmp_path: Path) -> None:
    # a workspace of its own: the shared lab workspace's plans and snapshots stay as the other tests expect
    ws = init_workspace(tmp_path / "ws")
    result = discover(ws, Path(lab.manifest.paths.inventory), forks=10, timeout=10,
                      known_hosts=Path(lab.manifest.paths.known_hosts))
    reachable = sum(1 for f in result.facts if f.reachable)
    assert reachable == len(lab.manifest.hosts)
    root = str(ws.root)
    runner = CliRunner()
    made = runner.invoke(app, ["-w", root, "plan", "create", "--id", "report-lab"])
    assert made.exit_code == 0, made.output
    html_out, json_out = tmp_path / "lab.html", tmp_path / "lab.json"
    for fmt, out in (("html", html_out), ("json", json_out)):
        done = runner.invoke(app, ["-w", root, "report", "--plan", "report-lab", "--format", fmt, "-o", str(out)])
        assert done.exit_code == 0, done.output
    data = json.loads(json_out.read_text())
    assert data["plan_id"] == "report-lab"
    assert data["estate"]["discovered"] == len(result.facts)
    assert data["estate"]["reachable"] == reachable
    assert sum(c["servers"] for c in data["estate"]["by_os"]) == data["estate"]["servers"]
    assert not any(c["name"] == "unknown" for c in data["estate"]["by_os"])  # discovery saw every OS
    assert data["graph"]["links"], "the lab's hosts talk to each other: the plan has dependencies"

    page = load(html_out)
    assert page.console == []
    assert page.status["ready"] == "1" and page.status["errors"] == "0"
    assert int(page.status["servers"]) == data["estate"]["servers"]
    assert int(page.status["graph-drawn-nodes"]) == len(data["graph"]["nodes"]) > 0
    assert int(page.status["timeline-bars"]) == len(data["waves"]) > 0
    assert {h.name for h in lab.manifest.hosts} <= {s["name"] for s in data["servers"]}
    assert data["estate"]["by_os"][0]["name"] in page.dom  # the OS breakdown shows what discovery saw
    png = tmp_path / "report-lab.png"
    assert screenshot(html_out, png) == []
    assert png.stat().st_size > 30_000
    keep = os.environ.get("PINDAH_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, Path(keep) / png.name)
