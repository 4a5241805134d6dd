"""The HTML and JSON reports: one model, hostile strings inert, the CLI and its [report] settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.planner import ServerInput, build_plan, make_inputs
from orchestrator.planner.inputs import EdgeInput
from orchestrator.reporting import ReportSources, build_report, render_html, report_json
from orchestrator.store import Store
from orchestrator.workspace import init_workspace

HOSTILE = ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>', "a&b\u2028c", "{{DATA}}"]


def _report() -> str:
    servers = [ServerInput(name=f"h{i}", application=name, site=name, os=name, disk_gb=1.0)
               for i, name in enumerate(HOSTILE)]
    edges = [EdgeInput(source="h0", target="h1", port=80, weight=1, kind="observed")]
    inputs = make_inputs(servers, edges)
    plan = build_plan(inputs, plan_id="p", max_wave_servers=2, created_at="t")
    return render_html(build_report(ReportSources(generated_at="now", servers=inputs.servers, plan=plan)))


def _embedded(page: str) -> str:
    match = re.search(r'<script id="pindah-data" type="application/json">(.*?)</script>', page, re.S)
    assert match is not None
    return match.group(1)


def test_hostile_strings_cannot_leave_the_data_block() -> None:
    page = _report()
    data = _embedded(page)
    for raw in ("<img", "</script", "<script", "\u2028"):
        assert raw not in data
    # the page has exactly its own two scripts plus the head's error hook and the data block
    assert page.count("<script") == 3 and page.count("</script>") == 3
    assert "<img" not in page
    # the template's markers are replaced once: a value that looks like a marker stays data
    assert json.loads(data)["servers"][3]["os"] == "{{DATA}}"
    assert {s["os"] for s in json.loads(data)["servers"]} == set(HOSTILE)


def test_script_puts_values_on_the_page_as_text_only() -> None:
    from orchestrator.reporting.html import asset

    script = asset("report.js")
    assert "innerHTML" not in script and "outerHTML" not in script and "insertAdjacentHTML" not in script
    assert "document.write" not in script and "eval(" not in script
    assert "http://" not in script and "https://" not in script  # works offline: nothing to fetch
    page = _report()
    assert not re.search(r"""(src|href)=["']?https?:""", page)


def test_json_and_html_carry_the_same_model() -> None:
    servers = [ServerInput(name=f"s{i}", application=f"app{i % 3}", site="x", disk_gb=2.0) for i in range(9)]
    inputs = make_inputs(servers, [])
    plan = build_plan(inputs, plan_id="p", max_wave_servers=4, created_at="t")
    report = build_report(ReportSources(generated_at="now", servers=inputs.servers, plan=plan))
    from_html = json.loads(_embedded(render_html(report)))
    assert from_html == json.loads(report_json(report))
    assert len(from_html["servers"]) == 9 and len(from_html["waves"]) == len(plan.waves)


def _workspace(tmp_path: Path, config: str = "") -> Path:
    ws = init_workspace(tmp_path / "ws")
    if config:
        text = ws.config_path.read_text()
        assert "\n[plan]\n" in text
        ws.config_path.write_text(text.replace("\n[plan]\n", "\n[plan]\nstart_date = 2027-01-04\n"
                                               "default_bandwidth_mbps = 80\n", 1) + config)
    with Store.open(ws.db_path) as store:
        store.upsert_servers([("a", {"site": "jkt", "application": "shop", "disk_gb": 10.0}),
                              ("b", {"site": "sby", "application": "shop", "disk_gb": 30.0})])
        run = store.create_run("p", 1, ["a", "b"], "pending")
        store.set_server_state(run, "b", state="failed", phase="precheck", error="no space left")
    return ws.root


def test_cli_writes_html_and_json_that_agree(tmp_path: Path) -> None:
    root = _workspace(tmp_path, "\n[report]\nonprem_server_month = 1000\n")
    runner = CliRunner()
    assert runner.invoke(app, ["-w", str(root), "plan", "create", "--id", "p"]).exit_code == 0
    html_out, json_out = tmp_path / "r.html", tmp_path / "r.json"
    for fmt, out in (("html", html_out), ("json", json_out)):
        result = runner.invoke(app, ["-w", str(root), "report", "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
    data = json.loads(json_out.read_text())
    embedded = json.loads(_embedded(html_out.read_text()))
    data.pop("generated_at"), embedded.pop("generated_at")
    assert data == embedded
    assert data["costs"]["onprem_monthly"] == 2000
    assert data["dated"] and data["waves"][0]["start"] == "2027-01-04"
    assert data["waves"][0]["replication_hours"] is not None
    assert data["runs"]["failed"][0]["error"] == "no space left"
    result = runner.invoke(app, ["-w", str(root), "report"])  # Markdown stays the default
    assert result.exit_code == 0 and result.stdout.strip().endswith(".md")


def test_bad_format_and_bad_settings_are_named(tmp_path: Path) -> None:
    root = _workspace(tmp_path, '\n[report]\nonprem_server_month = "a lot"\n')
    runner = CliRunner()
    result = runner.invoke(app, ["-w", str(root), "report", "--format", "pdf"])
    assert result.exit_code != 0 and "pdf" in str(result.exception)
    result = runner.invoke(app, ["-w", str(root), "report", "--format", "json"])
    assert result.exit_code != 0
    assert "onprem_server_month" in str(result.exception) and "a lot" in str(result.exception)
    (Path(root) / "pindah.toml").write_text((Path(root) / "pindah.toml").read_text().replace(
        'onprem_server_month = "a lot"', "onprem_per_server = 3"))
    result = runner.invoke(app, ["-w", str(root), "report", "--format", "html"])
    assert result.exit_code != 0 and "onprem_per_server" in str(result.exception)
