"""The Markdown report: pure rendering (including hostile strings) and the CLI command."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from discovery.facts import HostFacts, OsInfo
from orchestrator.cli import app
from orchestrator.plan import Plan
from orchestrator.planner import ServerInput, build_plan, make_inputs
from orchestrator.planner.markdown import md_cell, render_plan_markdown
from orchestrator.report import ReportData, RunRow, render_report, summarise, write_report
from orchestrator.store import Store
from orchestrator.workspace import init_workspace

HOSTILE = "evil|name\n## injected `code` <b>x</b>"


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def _cells(row: str) -> int:
    """Number of cells in a Markdown table row, not counting escaped pipes."""
    return row.replace("\\|", "").count("|") - 1


def test_md_cell_neutralises_table_breakers() -> None:
    cell = md_cell(HOSTILE)
    assert "\n" not in cell and "`" not in cell.replace("\\`", "") and "<b>" not in cell
    assert "|" not in cell.replace("\\|", "")


def _plan_with_hostile_names() -> Plan:
    servers = [ServerInput(name="web", application=HOSTILE), ServerInput(name="db", application="ok", site=HOSTILE)]
    return build_plan(make_inputs(servers, []), plan_id="p", max_wave_servers=1, created_at="t")


def test_report_rendering_counts_and_survives_hostile_strings() -> None:
    debian = OsInfo(id="debian", version_id="12", name="Debian", family="debian", pretty_name="Debian 12")
    facts = [HostFacts(name="web", address="10.0.0.1", reachable=True, os=debian),
             HostFacts(name="db", address="10.0.0.2", reachable=False)]
    imported = {"db": {"site": HOSTILE, "os": "Rocky 9"}, "legacy": {"site": "jkt"}}
    runs = [RunRow("p", 1, "web", "done", "finalize", None),
            RunRow("p", 2, "db", "failed", "backup", "rsync exited 23 | disk full\nsecond line"),
            RunRow("other", 1, "x", "failed", None, "not this plan")]
    data = summarise("2026-01-01T00:00:00+00:00", facts, imported, _plan_with_hostile_names(), runs)
    assert (data.discovered, data.reachable, data.unreachable, data.imported) == (2, 1, 1, 2)
    assert data.by_os == {"Debian 12": 1, "Rocky 9": 1, "unknown": 1}
    assert data.by_site == {HOSTILE: 1, "jkt": 1, "unknown": 1}
    text = render_report(data)
    for heading in ("## Estate", "## Plan", "## Run state", "### Failed servers"):
        assert heading in text
    assert "\n## injected" not in text
    assert "not this plan" not in text
    assert "rsync exited 23 \\| disk full second line" in text
    for table in _tables(text):
        assert len({_cells(row) for row in table}) == 1, table


def _tables(text: str) -> list[list[str]]:
    tables: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return [*tables, current] if current else tables


def test_plan_markdown_tables_stay_intact_with_hostile_names() -> None:
    text = render_plan_markdown(_plan_with_hostile_names())
    assert "\n## injected" not in text
    tables = _tables(text)
    assert tables
    for table in tables:
        assert len({_cells(row) for row in table}) == 1, table


def test_empty_report_says_what_to_do() -> None:
    text = render_report(ReportData(generated_at="t"))
    assert "no plan yet" in text and "no runs yet" in text


def test_write_report_and_cli(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    with Store.open(ws.db_path) as store:
        store.upsert_servers([("a", {"site": "jkt"}), ("b", {"site": "sby"})])
        run = store.create_run("whatever", 1, ["a", "b"], "pending")
        store.set_server_state(run, "b", state="failed", phase="precheck", error="no space left")
    path = write_report(ws, now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert path == ws.root / "reports" / "report-20260102-030405.md"
    assert "imported servers: 2" in path.read_text() and "no plan yet" in path.read_text()
    runner = CliRunner()
    assert runner.invoke(app, ["-w", str(ws.root), "plan", "create", "--id", "p"]).exit_code == 0
    out = tmp_path / "r.md"
    result = runner.invoke(app, ["-w", str(ws.root), "report", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout.replace("\n", "")
    text = out.read_text()
    assert "- id: p " in text and "| 1 | 2 |" in text
