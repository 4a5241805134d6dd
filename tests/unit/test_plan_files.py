"""Plan files: YAML round trip and determinism, no overwrite, `plan show --json` contract, the example plan.

The example plan in plans/ is produced by the code from the example estate in inventory/:
    pindah init WS && cd WS
    pindah import servers <repo>/inventory/servers.example.csv
    pindah import dependencies <repo>/inventory/dependencies.example.csv
    pindah plan create --id example --max-wave-servers 5     # then copy plans/example.* into the repo
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.errors import PlanError
from orchestrator.plan import dump_plan, load_plan
from orchestrator.planning import create_plan, list_plans, newest_plan
from orchestrator.store import Store
from orchestrator.workspace import Workspace, init_workspace

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = init_workspace(tmp_path / "ws")
    runner = CliRunner()
    for kind, name in (("servers", "servers.example.csv"), ("dependencies", "dependencies.example.csv")):
        result = runner.invoke(app, ["-w", str(workspace.root), "import", kind, str(REPO / "inventory" / name)])
        assert result.exit_code == 0, result.output
    return workspace


def _strip_created(text: str) -> str:
    return re.sub(r"(created_at: |- created: ).*", r"\1X", text)


def test_plan_yaml_round_trips_and_is_deterministic(ws: Workspace) -> None:
    first = create_plan(ws, plan_id="one", max_wave_servers=5, now=NOW)
    second = create_plan(ws, plan_id="two", max_wave_servers=5, now=NOW)
    loaded = load_plan(ws.plans_dir, "one")
    assert loaded == first.plan
    assert dump_plan(loaded) == first.yaml_path.read_text()
    assert first.yaml_path.read_text().replace("id: one", "id: two") == second.yaml_path.read_text()
    raw = yaml.safe_load(first.yaml_path.read_text())
    assert list(raw)[:4] == ["schema_version", "id", "created_at", "input_digest"]
    assert raw["input_digest"].startswith("sha256:")


def test_plan_id_is_never_overwritten(ws: Workspace) -> None:
    created = create_plan(ws, plan_id="keep", now=NOW)
    before = created.yaml_path.read_text()
    with pytest.raises(PlanError, match="already exists") as info:
        create_plan(ws, plan_id="keep", now=NOW)
    assert "--id" in info.value.hint
    assert created.yaml_path.read_text() == before


def test_default_id_and_configured_wave_limit(ws: Workspace) -> None:
    ws.config_path.write_text(ws.config_path.read_text().replace("max_wave_servers = 25", "max_wave_servers = 4"))
    first = create_plan(ws, now=NOW)
    second = create_plan(ws, now=NOW)
    assert (first.plan.id, second.plan.id) == ("plan-20260102-030405", "plan-20260102-030405-2")
    assert first.plan.max_wave_servers == 4
    assert [p.id for p in list_plans(ws)] == ["plan-20260102-030405", "plan-20260102-030405-2"]
    newest = newest_plan(ws)
    assert newest is not None and newest.id == "plan-20260102-030405-2"


def test_plan_show_json_contract(ws: Workspace) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["-w", str(ws.root), "plan", "create", "--id", "p1", "--max-wave-servers", "5"])
    assert created.exit_code == 0, created.output
    result = runner.invoke(app, ["-w", str(ws.root), "plan", "show", "p1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == "p1"
    assert [w["index"] for w in data["waves"]] == list(range(1, len(data["waves"]) + 1))
    assert all(isinstance(name, str) for w in data["waves"] for name in w["servers"])
    assert data["oversized"] == ["portal"]
    with Store.open(ws.db_path) as store:
        assert sorted(n for w in data["waves"] for n in w["servers"]) == sorted(store.servers())
    human = runner.invoke(app, ["-w", str(ws.root), "plan", "show", "p1"])
    assert human.exit_code == 0 and "wave 1" in human.stdout and "portal-db01" in human.stdout
    listed = runner.invoke(app, ["-w", str(ws.root), "plan", "list", "--json"])
    assert [p["id"] for p in json.loads(listed.stdout)] == ["p1"]
    again = runner.invoke(app, ["-w", str(ws.root), "plan", "create", "--id", "p1"])
    assert again.exit_code == 1 and isinstance(again.exception, PlanError)
    missing = runner.invoke(app, ["-w", str(ws.root), "plan", "show", "nope", "--json"])
    assert missing.exit_code == 1 and isinstance(missing.exception, PlanError)


def test_example_plan_is_what_the_code_produces(ws: Workspace) -> None:
    produced = create_plan(ws, plan_id="example", max_wave_servers=5, now=NOW)
    committed_yaml = REPO / "plans" / "example.yaml"
    committed_md = REPO / "plans" / "example.md"
    assert _strip_created(committed_yaml.read_text()) == _strip_created(produced.yaml_path.read_text())
    assert _strip_created(committed_md.read_text()) == _strip_created(produced.markdown_path.read_text())


def test_plan_from_discovered_hosts_uses_observed_connections(tmp_path: Path) -> None:
    from discovery.facts import Connection, HostFacts

    workspace = init_workspace(tmp_path / "disc")

    def out(remote: str, port: int) -> Connection:
        return Connection(local_address="10.1.0.1", local_port=40000, remote_address=remote, remote_port=port,
                          direction="outbound")

    app_host = HostFacts(name="app", address="10.1.0.1", reachable=True,
                         connections=(out("10.1.0.2", 5432), out("10.1.0.2", 5432), out("203.0.113.9", 443)))
    hosts = [app_host, HostFacts(name="db", address="10.1.0.2", reachable=True),
             HostFacts(name="solo", address="10.1.0.3", reachable=True)]
    with Store.open(workspace.db_path) as store:
        store.save_snapshot(hosts, source="test")
    plan = create_plan(workspace, plan_id="d1", max_wave_servers=2, now=NOW).plan
    assert [(d.source, d.target, d.port, d.weight, d.kind) for d in plan.dependencies] == [
        ("app", "db", 5432, 2.0, "observed")]
    assert plan.server("app").application == plan.server("db").application == "app-app"
    assert plan.server("app").wave == plan.server("db").wave != plan.server("solo").wave
    with Store.open(workspace.db_path) as store:
        store.upsert_servers([("solo", {"application": "tools"})])
    again = create_plan(workspace, plan_id="d2", max_wave_servers=2, now=NOW).plan
    assert again.input_digest != plan.input_digest
    assert again.server("solo").application == "tools"
    assert [(x.source, x.address, x.port, x.count) for x in plan.external] == [("app", "203.0.113.9", 443, 1)]
    assert "| app | 1 | 203.0.113.9 | 443 | 1 |" in (workspace.plans_dir / "d1.md").read_text()


def test_plan_explain_answers_for_every_server(ws: Workspace) -> None:
    runner = CliRunner()
    plan = create_plan(ws, plan_id="e1", max_wave_servers=5, now=NOW).plan
    for server in plan.servers:
        result = runner.invoke(app, ["-w", str(ws.root), "plan", "explain", "e1", server.name, "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["wave"] == server.wave and len(data["reasons"]) >= 3
    billing = json.loads(runner.invoke(app, ["-w", str(ws.root), "plan", "explain", "e1", "billing-app01",
                                             "--json"]).stdout)["reasons"]
    assert any("hard dependency billing-app01 -> payroll-db01:5432" in r for r in billing)
    assert any("not in the pilot wave 1" in r for r in billing)
    human = runner.invoke(app, ["-w", str(ws.root), "plan", "explain", "e1", "permits01"])
    assert human.exit_code == 0 and "is in wave 1" in human.stdout and "pilot" in human.stdout
    missing = runner.invoke(app, ["-w", str(ws.root), "plan", "explain", "e1", "billing"])
    assert missing.exit_code == 1 and "billing-app01" in missing.exception.hint  # type: ignore[union-attr]


def test_plan_diff_shows_moved_servers_and_changed_waves(ws: Workspace) -> None:
    runner = CliRunner()
    create_plan(ws, plan_id="d1", max_wave_servers=5, now=NOW)
    ws.config_path.write_text(ws.config_path.read_text() + '\n[plan.pins]\n"app-legacy-etl01" = 3\n')
    create_plan(ws, plan_id="d2", max_wave_servers=5, now=NOW)
    same = json.loads(runner.invoke(app, ["-w", str(ws.root), "plan", "diff", "d1", "d1", "--json"]).stdout)
    assert same["moved"] == [] and same["waves"] == [] and same["same_inputs"]
    result = runner.invoke(app, ["-w", str(ws.root), "plan", "diff", "d1", "d2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    moved = {m["name"]: (m["from_wave"], m["to_wave"]) for m in data["moved"]}
    assert moved["legacy-etl01"] == (4, 3) and moved["legacy-ftp01"] == (4, 3)
    assert {w["index"] for w in data["waves"]} == {w for pair in moved.values() for w in pair}
    human = runner.invoke(app, ["-w", str(ws.root), "plan", "diff", "d1", "d2"])
    assert human.exit_code == 0 and "legacy-etl01" in human.stdout and "moved server(s)" in human.stdout


def test_plan_create_from_a_base_plan_keeps_waves(ws: Workspace) -> None:
    runner = CliRunner()
    first = create_plan(ws, plan_id="b1", max_wave_servers=5, now=NOW).plan
    same = create_plan(ws, plan_id="b2", max_wave_servers=5, now=NOW, base_id="b1").plan
    assert [w.servers for w in same.waves] == [w.servers for w in first.waves]
    assert "base plan b1" in same.server("billing-app01").reasons[1]
    ws.config_path.write_text(ws.config_path.read_text() + '\n[plan.pins]\n"app-legacy-etl01" = 2\n')
    result = runner.invoke(app, ["-w", str(ws.root), "plan", "create", "--id", "b3", "--max-wave-servers", "5",
                                 "--base", "b1"])
    assert result.exit_code == 0, result.output
    moved = json.loads(runner.invoke(app, ["-w", str(ws.root), "plan", "diff", "b1", "b3", "--json"]).stdout)["moved"]
    assert {m["application"] for m in moved} <= {"app-legacy-etl01", "portal"}
    assert {m["name"]: m["to_wave"] for m in moved}["legacy-etl01"] == 2
    missing = runner.invoke(app, ["-w", str(ws.root), "plan", "create", "--id", "b4", "--base", "nope"])
    assert missing.exit_code == 1 and isinstance(missing.exception, PlanError)
