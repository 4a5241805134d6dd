"""`plan check`: what drifted between an approved plan and the latest discovery, with CI exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from discovery.facts import Connection, Disk, HostFacts
from orchestrator import audit
from orchestrator.approval import approve
from orchestrator.cli import app
from orchestrator.errors import PlanError
from orchestrator.plancheck import EXIT_DRIFTED, check_plan
from orchestrator.planning import create_plan
from orchestrator.store import Store
from orchestrator.workspace import Workspace, init_workspace

ADDRESS = {"a": "10.0.0.1", "b": "10.0.0.2", "c": "10.0.0.3", "d": "10.0.0.4"}


def host(name: str, disk: float = 50, to: tuple[str, int] | None = None, reachable: bool = True) -> HostFacts:
    conns = ()
    if to is not None:
        conns = (Connection(local_address=ADDRESS[name], local_port=40000, remote_address=ADDRESS[to[0]],
                            remote_port=to[1], direction="outbound"),)
    return HostFacts(name=name, address=ADDRESS[name], reachable=reachable, memory_mb=1024,
                     disks=(Disk(name="sda", size_gb=disk),) if reachable else (), connections=conns,
                     collected_at="2026-01-01T00:00:00+00:00")


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    ws = init_workspace(tmp_path / "ws")
    ws.config_path.write_text(ws.config_path.read_text().replace(
        "max_wave_servers = 25", "max_wave_servers = 1\nmax_wave_storage_gb = 100"))
    with Store.open(ws.db_path) as store:
        store.save_snapshot([host("a"), host("b"), host("c")], source="inv.yml")
    monkeypatch.setenv(audit.USER_ENV, "ana")
    create_plan(ws, plan_id="p", now=datetime(2026, 1, 1, tzinfo=UTC))
    monkeypatch.setenv(audit.USER_ENV, "budi")
    approve(ws, "p")
    return ws


def rediscover(ws: Workspace, *facts: HostFacts) -> None:
    with Store.open(ws.db_path) as store:
        store.save_snapshot(list(facts), source="inv.yml")


def drift(ws: Workspace) -> list[tuple[str, str]]:
    return [(f.kind, f.subject) for f in check_plan(ws, "p").findings if f.severity == "drift"]


def waves(ws: Workspace) -> dict[str, int]:
    from orchestrator.plan import load_plan

    return {s.name: s.wave for s in load_plan(ws.plans_dir, "p").servers}


def test_same_estate_is_valid(ws: Workspace) -> None:
    rediscover(ws, host("a"), host("b"), host("c"))
    result = check_plan(ws, "p")
    assert result.exit_code == 0 and result.approved_by == "budi"
    assert result.findings == ()


def test_new_cross_wave_dependency_drifts(ws: Workspace) -> None:
    w = waves(ws)
    assert len(set(w.values())) == 3
    rediscover(ws, host("a", to=("c", 5432)), host("b"), host("c"))
    result = check_plan(ws, "p")
    assert result.exit_code == EXIT_DRIFTED
    [finding] = [f for f in result.findings if f.severity == "drift"]
    assert result.findings[-1].kind == "inputs"  # and an info: 'pindah run' will call the plan stale
    assert (finding.kind, finding.subject) == ("dependency", "a -> c:5432")
    assert "hard dependency" in finding.message
    assert ("provider would move after its consumer" in finding.message) == (w["c"] > w["a"])


def test_gone_unreachable_and_appeared_servers_drift(ws: Workspace) -> None:
    rediscover(ws, host("a"), host("c", reachable=False), host("d"))
    assert sorted(drift(ws)) == [("server", "b"), ("server", "c"), ("server", "d")]
    messages = " | ".join(f.message for f in check_plan(ws, "p").findings)
    assert "b (wave" in messages and "is gone" in messages
    assert "did not answer" in messages and "d appeared" in messages


def test_disk_growth_over_the_wave_limit_drifts(ws: Workspace) -> None:
    rediscover(ws, host("a", disk=150), host("b", disk=60), host("c"))
    result = check_plan(ws, "p")
    assert [(f.kind, f.severity, f.subject) for f in result.findings if f.kind in ("capacity", "size")] == [
        ("capacity", "drift", f"wave {waves(ws)['a']}"),
        ("size", "info", "a"), ("size", "info", "b")]
    assert "150 GB of disk, over the 100 GB limit" in result.findings[0].message


def test_edited_plan_file_drifts(ws: Workspace) -> None:
    rediscover(ws, host("a"), host("b"), host("c"))
    path = ws.plans_dir / "p.yaml"
    path.write_text(path.read_text() + "# edited\n")
    assert drift(ws) == [("approval", "p")]


def test_no_discovery_is_an_error(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "empty")
    (ws.plans_dir / "p.yaml").write_text("")
    with pytest.raises(PlanError):
        check_plan(ws, "p")


def test_cli_exit_codes_json_and_junit(ws: Workspace, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["-w", str(ws.root), "plan", "check", "p"]
    rediscover(ws, host("a"), host("b"), host("c"))
    ok = runner.invoke(app, base)
    assert ok.exit_code == 0 and "VALID" in ok.output
    rediscover(ws, host("a", to=("c", 80)), host("b"), host("c"))
    junit = tmp_path / "check.xml"
    bad = runner.invoke(app, [*base, "--json", "--junit", str(junit)])
    assert bad.exit_code == 4
    body = json.loads(bad.output)
    assert body["drifted"] is True and body["findings"][0]["subject"] == "a -> c:80"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["dependency"]

    missing = subprocess.run([sys.executable, "-c", "from orchestrator.cli import main; main()", "-w", str(ws.root), "plan", "check", "nope"],
                             capture_output=True, text=True, check=False)
    assert missing.returncode == 1 and "no plan 'nope'" in missing.stderr


def test_data_growth_past_the_replication_window_drifts() -> None:
    from orchestrator.plan import Application, Plan, PlannedServer, SiteReplication, Wave
    from orchestrator.plancheck import replication_findings
    from orchestrator.planner.inputs import ServerInput

    # 100 Mbit/s for 24 h moves 1080 GB: 900 GB fits, 1200 GB does not
    servers = (PlannedServer(name="x", application="a", wave=1, reason="r", site="bdg", data_gb=600),
               PlannedServer(name="y", application="a", wave=1, reason="r", site="bdg", data_gb=300))
    wave = Wave(index=1, servers=("x", "y"), applications=("a",), window_hours=24,
                replication_by_site=(SiteReplication(site="bdg", data_gb=900, mbps=100, hours=20),))
    plan = Plan(id="q", created_at="t", input_digest="d", max_wave_servers=5, waves=(wave,), oversized=(),
                applications=(Application(name="a", servers=("x", "y"), wave=1, source="imported", reason="r"),),
                servers=servers, dependencies=(), cross_wave_weight=0.0)
    same = {"x": ServerInput(name="x", data_gb=600), "y": ServerInput(name="y", data_gb=300)}
    assert replication_findings(plan, same) == []
    grown = {**same, "x": ServerInput(name="x", data_gb=900)}
    [finding] = replication_findings(plan, grown)
    assert (finding.kind, finding.severity, finding.subject) == ("capacity", "drift", "wave 1")
    assert "site bdg now has 1200 GB to replicate, 26.7 h at 100 Mbit/s, over the wave's 24 h window" in \
        finding.message


def test_migrated_servers_missing_from_discovery_are_expected(ws: Workspace) -> None:
    with Store.open(ws.db_path) as store:
        run = store.create_run("p", waves(ws)["b"], ["b"], "pending")
        store.set_server_state(run, "b", state="done", phase=None)
    rediscover(ws, host("a"), host("c"))
    result = check_plan(ws, "p")
    assert result.exit_code == 0
    assert [(f.kind, f.severity, f.subject) for f in result.findings if f.kind == "server"] == [
        ("server", "info", "b")]
    assert any(f.subject == "b" and "was migrated" in f.message for f in result.findings)
