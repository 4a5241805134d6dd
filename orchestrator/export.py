"""Exports of a plan for other tools: an Ansible inventory of one wave, and a CSV of every server."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import RunError
from orchestrator.inventory import InventoryHost, load_inventory
from orchestrator.plan import Plan, load_plan
from orchestrator.store import Store
from orchestrator.workspace import Workspace

CSV_COLUMNS = ("server", "wave", "wave_start", "wave_end", "application", "environment", "site", "role", "address",
               "strategy", "flavor", "vcpu", "memory_gb", "zone", "monthly_cost", "currency", "disk_gb", "data_gb",
               "sizing_confidence", "reason")
_GROUP_CHARS = re.compile(r"[^A-Za-z0-9_]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class WaveInventory:
    text: str  # Ansible YAML inventory
    hosts: tuple[str, ...]
    missing: tuple[str, ...]  # wave servers neither in the discovery inventory nor with a planned address


def group_name(prefix: str, name: str) -> str:
    """An Ansible-safe group name (letters, digits, underscores)."""
    return f"{prefix}_{_GROUP_CHARS.sub('_', name)}"


def connection_vars(host: InventoryHost) -> dict[str, Any]:
    """The host's own inventory vars (secrets were never loaded) with resolved connection settings."""
    out = dict(host.vars)
    out.update({"ansible_host": host.address, "ansible_port": host.port})
    if host.user:
        out["ansible_user"] = host.user
    if host.key_file:
        out["ansible_ssh_private_key_file"] = str(host.key_file)
    return out


def wave_inventory(plan: Plan, wave: int, hosts: Iterable[InventoryHost]) -> WaveInventory:
    """Pure: the wave's servers as an inventory, grouped by wave and application, with pindah_* plan vars."""
    by_name = {h.name: h for h in hosts}
    servers = {s.name: s for s in plan.servers}
    members: dict[str, dict[str, Any]] = {}
    apps: dict[str, dict[str, None]] = {}
    missing = []
    for name in plan.wave(wave).servers:
        planned = servers[name]
        found = by_name.get(name)
        if found is None and not planned.address:
            missing.append(name)
            continue
        hostvars: dict[str, Any] = connection_vars(found) if found else {"ansible_host": planned.address}
        hostvars.update({"pindah_plan": plan.id, "pindah_wave": wave, "pindah_application": planned.application,
                         "pindah_strategy": planned.strategy})
        if planned.flavor:
            hostvars["pindah_flavor"] = planned.flavor
        members[name] = hostvars
        apps.setdefault(group_name("app", planned.application), {})[name] = None
    tree = {"all": {"children": {group_name("wave", str(wave)): {
        "hosts": members, "children": {app: {"hosts": names} for app, names in sorted(apps.items())}}}}}
    header = f"# pindah plan {plan.id}, wave {wave}: {len(members)} server(s)\n"
    text = header + yaml.safe_dump(tree, sort_keys=False, default_flow_style=False)
    return WaveInventory(text=text, hosts=tuple(members), missing=tuple(missing))


def export_ansible_inventory(ws: Workspace, plan_id: str, wave: int, inventory: Path | None) -> WaveInventory:
    plan = load_plan(ws.plans_dir, plan_id)
    plan.wave(wave)  # a clear error for a wave the plan lacks
    if inventory is None:
        with Store.open(ws.db_path) as store:
            snapshot = store.latest_snapshot()
        if snapshot is None:
            raise RunError("no inventory given and no discovery snapshot to take it from",
                           hint="pass -i INVENTORY, or run 'pindah discover' first")
        inventory = Path(snapshot.source)
    return wave_inventory(plan, wave, load_inventory(inventory))


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet never evaluates as a formula."""
    text = "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def plan_csv(plan: Plan) -> str:
    """One row per server, ordered by wave then name."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    waves = {w.index: w for w in plan.waves}
    for s in sorted(plan.servers, key=lambda s: (s.wave, s.name)):
        wave = waves.get(s.wave)
        row = (s.name, s.wave, wave.start if wave else None, wave.end if wave else None, s.application,
               s.environment, s.site, s.role, s.address, s.strategy, s.flavor, s.vcpu, s.memory_gb, s.zone,
               s.monthly_cost, plan.currency if s.monthly_cost is not None else None, s.disk_gb, s.data_gb,
               s.sizing_confidence, s.reason)
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


def export_csv(ws: Workspace, plan_id: str) -> str:
    return plan_csv(load_plan(ws.plans_dir, plan_id))
