"""Exports: a wave's Ansible inventory (read back by the real ansible-inventory) and the plan as CSV."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from discovery.facts import Disk, HostFacts
from orchestrator.cli import app
from orchestrator.errors import PlanError
from orchestrator.export import CSV_COLUMNS, export_ansible_inventory, plan_csv
from orchestrator.plan import Application, Plan, PlannedServer, Wave, load_plan
from orchestrator.planning import create_plan
from orchestrator.store import Store
from orchestrator.workspace import Workspace, init_workspace

NAMES = ("web1", "web2", "db1")


def _ansible_inventory() -> str:
    found = shutil.which("ansible-inventory") or str(Path(sys.executable).with_name("ansible-inventory"))
    if not Path(found).exists():
        pytest.skip("ansible-inventory is not installed")
    return found


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "ws")
    ws.config_path.write_text(ws.config_path.read_text().replace("max_wave_servers = 25", "max_wave_servers = 1"))
    inventory = {"all": {"vars": {"ansible_user": "ops", "ansible_python_interpreter": "/usr/bin/python3",
                                  "ansible_ssh_common_args": "-o StrictHostKeyChecking=yes"},
                         "children": {"web": {"hosts": {n: {"ansible_host": f"10.9.0.{i}", "ansible_port": 2200 + i,
                                                            "ansible_ssh_private_key_file": "keys/id",
                                                            "ansible_password": "s3cret"}
                                                        for i, n in enumerate(NAMES, 1)}}}}}
    path = ws.inventory_dir / "hosts.yml"
    (ws.inventory_dir / "keys").mkdir()
    (ws.inventory_dir / "keys" / "id").write_text("not a real key\n")  # relative key paths resolve when present
    path.write_text(yaml.safe_dump(inventory))
    facts = [HostFacts(name=n, address=f"10.9.0.{i}", reachable=True, memory_mb=2048,
                       disks=(Disk(name="sda", size_gb=20),), collected_at="2026-01-01T00:00:00+00:00")
             for i, n in enumerate(NAMES, 1)]
    with Store.open(ws.db_path) as store:
        store.save_snapshot(facts, source=str(path))
    create_plan(ws, plan_id="p", now=datetime(2026, 1, 1, tzinfo=UTC))
    return ws


def test_wave_inventory_parses_with_real_ansible_inventory(ws: Workspace, tmp_path: Path) -> None:
    plan = load_plan(ws.plans_dir, "p")
    wave = plan.waves[0]
    out = tmp_path / "wave.yml"
    result = CliRunner().invoke(app, ["-w", str(ws.root), "export", "ansible-inventory", "--plan", "p",
                                      "--wave", str(wave.index), "-o", str(out)])
    assert result.exit_code == 0, result.output
    listed = subprocess.run([_ansible_inventory(), "--list", "-i", str(out)], capture_output=True, text=True,
                            check=True, timeout=120)
    data = json.loads(listed.stdout)
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(wave.servers)
    name = wave.servers[0]
    i = NAMES.index(name) + 1
    got = hostvars[name]
    assert (got["ansible_host"], got["ansible_port"], got["ansible_user"]) == (f"10.9.0.{i}", 2200 + i, "ops")
    assert got["ansible_ssh_private_key_file"] == str(ws.inventory_dir / "keys" / "id")
    assert got["ansible_ssh_common_args"] == "-o StrictHostKeyChecking=yes"
    assert (got["pindah_plan"], got["pindah_wave"]) == ("p", wave.index)
    assert "ansible_password" not in got and "s3cret" not in out.read_text()
    app_group = "app_" + plan.server(name).application.replace("-", "_").replace(".", "_")
    assert data[f"wave_{wave.index}"]["children"] == [app_group]
    assert name in data[app_group]["hosts"]


def test_default_inventory_is_the_latest_discovery(ws: Workspace) -> None:
    result = export_ansible_inventory(ws, "p", 2, None)
    assert len(result.hosts) == 1 and result.missing == ()


def test_unknown_wave_is_a_clear_error(ws: Workspace) -> None:
    with pytest.raises(PlanError, match="plan p has no wave 9"):
        export_ansible_inventory(ws, "p", 9, None)


def test_csv_has_one_row_per_server(ws: Workspace) -> None:
    result = CliRunner().invoke(app, ["-w", str(ws.root), "export", "csv", "--plan", "p"])
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert tuple(rows[0]) == CSV_COLUMNS
    plan = load_plan(ws.plans_dir, "p")
    assert sorted((r["server"], int(r["wave"])) for r in rows) == sorted((s.name, s.wave) for s in plan.servers)
    assert [int(r["wave"]) for r in rows] == sorted(int(r["wave"]) for r in rows)
    assert all(r["strategy"] and r["application"] and r["disk_gb"] == "20" for r in rows)


def test_csv_cells_never_start_a_formula() -> None:
    server = PlannedServer(name="x", application="=HYPERLINK(1)", wave=1, reason="-2+3", monthly_cost=1.5,
                           flavor="m.small")
    plan = Plan(id="q", created_at="t", input_digest="d", max_wave_servers=1,
                waves=(Wave(index=1, servers=("x",), applications=("=HYPERLINK(1)",)),), oversized=(),
                applications=(Application(name="=HYPERLINK(1)", servers=("x",), wave=1, source="imported",
                                          reason="r"),),
                servers=(server,), dependencies=(), cross_wave_weight=0.0, currency="IDR")
    [row] = list(csv.DictReader(io.StringIO(plan_csv(plan))))
    assert (row["application"], row["reason"]) == ("'=HYPERLINK(1)", "'-2+3")
    assert (row["flavor"], row["monthly_cost"], row["currency"]) == ("m.small", "1.5", "IDR")
