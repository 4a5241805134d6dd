"""Workspace creation and lookup: --workspace, $PINDAH_WORKSPACE, the cwd and its parents."""

from __future__ import annotations

import re
import sqlite3
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.errors import WorkspaceError, WorkspaceNotFound
from orchestrator.store import SCHEMA_VERSION
from orchestrator.workspace import ENV_VAR, find_workspace, init_workspace


def test_init_creates_the_layout(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "estate")
    assert ws.config_path.is_file()
    assert ws.inventory_dir.is_dir() and ws.plans_dir.is_dir()
    with sqlite3.connect(ws.db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert ws.config()["plan"]["max_wave_servers"] == 25


def test_init_twice_keeps_the_existing_config(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path)
    ws.config_path.write_text('[workspace]\nname = "mine"\n', encoding="utf-8")
    init_workspace(tmp_path)
    assert ws.config()["workspace"]["name"] == "mine"


def test_init_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(WorkspaceError):
        init_workspace(target)


def test_found_from_a_subdirectory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    ws = init_workspace(tmp_path / "ws")
    deep = ws.root / "plans" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_workspace(start=deep).root == ws.root


def test_explicit_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = init_workspace(tmp_path / "one")
    two = init_workspace(tmp_path / "two")
    monkeypatch.setenv(ENV_VAR, str(two.root))
    assert find_workspace(start=one.root).root == two.root
    assert find_workspace(one.root, start=tmp_path).root == one.root


def test_outside_any_workspace_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(WorkspaceNotFound) as info:
        find_workspace(start=tmp_path)
    assert "pindah init" in info.value.hint


def test_environment_pointing_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(WorkspaceNotFound, match="PINDAH_WORKSPACE"):
        find_workspace()


def test_broken_config_is_named(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path)
    ws.config_path.write_text("[plan\n", encoding="utf-8")
    with pytest.raises(WorkspaceError, match=r"pindah\.toml"):
        ws.config()


def test_cli_init_and_error_outside_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    runner = CliRunner()
    result = runner.invoke(app, ["init", str(tmp_path / "cli-ws")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli-ws" / "pindah.toml").is_file()


def test_the_config_template_parses_and_its_commented_plan_keys_are_real(tmp_path: Path) -> None:
    from orchestrator.planner.constraints import rules_from_config

    ws = init_workspace(tmp_path)
    assert rules_from_config(ws.config()["plan"]).max_wave_servers == 25
    text = ws.config_path.read_text(encoding="utf-8")
    plan_part = text[text.index("[plan]"):text.index("# [cloud]")]
    setting = re.compile(r"^# (\w+ *=|\[)")
    uncommented = "\n".join(line[2:] if setting.match(line) else line for line in plan_part.splitlines())
    rules = rules_from_config(tomllib.loads(uncommented)["plan"])
    assert rules.pilot_servers == 5 and rules.anti_affinity == (("billing", "payroll"),)
    assert dict(rules.pins) == {"billing": 3}
    assert rules.freezes[0].name == "budget close" and rules.zones[0].max_vcpu == 160
    assert rules.split[0].servers == ("rpt01", "rpt02") and rules.strategy == (("legacy01", "retain"),)
