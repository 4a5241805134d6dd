"""pindah.toml [plan] rules: parsing, errors naming the key, and plan create applying them."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import PlanError, WorkspaceError
from orchestrator.planner.constraints import rules_from_config
from orchestrator.planning import create_plan
from orchestrator.store import Store
from orchestrator.workspace import init_workspace


def test_defaults_and_cli_limit_wins() -> None:
    rules = rules_from_config({})
    assert (rules.max_wave_servers, rules.pilot_servers, rules.ramp, rules.max_wave_storage_gb) == (25, 5, (), None)
    assert 5432 in rules.hard_ports and not rules.separate_environments
    assert rules_from_config({"max_wave_servers": 9}, 4).max_wave_servers == 4


def test_all_keys_parse() -> None:
    rules = rules_from_config({"max_wave_servers": 10, "max_wave_storage_gb": 500, "pilot_servers": 0,
                               "pilot_criticality": ["low", "medium"], "ramp": [3, 6], "separate_environments": True,
                               "hard_ports": [5432, 5432, 1521], "anti_affinity": [["b", "a"]],
                               "pins": {"web01": 2, "billing": 1}})
    assert rules.max_wave_storage_gb == 500.0 and rules.ramp == (3, 6) and rules.hard_ports == (1521, 5432)
    assert rules.anti_affinity == (("a", "b"),) and rules.pins == (("billing", 1), ("web01", 2))


@pytest.mark.parametrize(("section", "needle"), [
    ({"max_wave_servers": 0}, "max_wave_servers"),
    ({"max_wave_servers": True}, "max_wave_servers"),
    ({"ramp": "5"}, "ramp"),
    ({"ramp": [0]}, "ramp"),
    ({"pins": {"web": 0}}, "pins.web"),
    ({"pins": ["web"]}, "pins"),
    ({"anti_affinity": [["a"]]}, "anti_affinity"),
    ({"separate_environments": "yes"}, "separate_environments"),
    ({"max_wave_storage_gb": -1}, "max_wave_storage_gb"),
    ({"wave_limit": 3}, "unknown key"),
])
def test_bad_values_name_the_key(section: dict[str, object], needle: str) -> None:
    with pytest.raises(WorkspaceError) as info:
        rules_from_config(section)
    assert needle in info.value.message and info.value.hint


def test_plan_create_applies_the_workspace_rules(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    with Store.open(ws.db_path) as store:
        store.upsert_servers([("a1", {"application": "a"}), ("a2", {"application": "a"}),
                              ("b1", {"application": "b"})])
    ws.config_path.write_text(ws.config_path.read_text() + '\n[plan.pins]\n"a" = 2\n')
    plan = create_plan(ws, plan_id="p1", max_wave_servers=5).plan
    assert plan.server("a1").wave == 2 and plan.server("b1").wave == 1
    assert plan.rules is not None and plan.rules.pins == (("a", 2),)
    assert any("pinned to wave 2" in r for r in plan.server("a2").reasons)
    ws.config_path.write_text(ws.config_path.read_text().replace('"a" = 2', '"nope" = 2'))
    with pytest.raises(PlanError, match="nope"):
        create_plan(ws, plan_id="p2", max_wave_servers=5)


def test_plan_create_sizes_with_the_workspace_catalog(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    with Store.open(ws.db_path) as store:
        store.upsert_servers([("a1", {"application": "a", "cpu_count": 2, "memory_mb": 2048, "disk_gb": 10.0})])
    (ws.root / "catalog.yaml").write_text("currency: IDR\nflavors:\n  - {name: s, vcpu: 2, memory_gb: 2, "
                                          "price_month: 100}\ndisk_types:\n  - {name: std, price_gb_month: 1}\n")
    plan = create_plan(ws, plan_id="c1", max_wave_servers=5).plan
    assert (plan.server("a1").flavor, plan.server("a1").monthly_cost, plan.monthly_cost) == ("s", 110.0, 110.0)
