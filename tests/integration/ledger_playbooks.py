"""Tiny phase playbooks for engine tests: local connection, each run appends to a per-host ledger.

They run through the real ansible-runner (``$PINDAH_PLAYBOOKS_DIR`` points pindah at them) so that
crash/resume tests exercise the real process tree, events and exit codes in seconds, not minutes.
Each line of ``<ledger>/<host>`` is ``<phase> <event> <resume> <unix time>``; ``event`` is ``start``,
``end``, ``fail``, ``switch`` (cutover really switched) or ``checked`` (a resumed cutover found it done).
Environment: PINDAH_TEST_LEDGER (directory), PINDAH_TEST_FAIL ("host:phase,..."), PINDAH_TEST_SLEEP.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from orchestrator.approval import approve
from orchestrator.plan import Application, Plan, PlanDependency, PlannedServer, Wave, dump_plan
from orchestrator.runner.states import Phase
from orchestrator.workspace import Workspace, init_workspace

CLOUD = '[cloud]\nec2_endpoint = "http://127.0.0.1:1"\nregion = "r1"\nsubnet_id = "s"\nimage_id = "i"\n'
PLAN_ID = "ledger"

_STEP = r"""
set -eu
L="$PINDAH_TEST_LEDGER/{{ inventory_hostname }}"
R="{{ pindah_resume | default(false) | bool | lower }}"
echo "{{ phase }} start $R $(date +%s.%N)" >> "$L"
sleep "${PINDAH_TEST_SLEEP:-0.05}"
case ",${PINDAH_TEST_FAIL:-}," in
  *",{{ inventory_hostname }}:{{ phase }},"*) echo "{{ phase }} fail $R $(date +%s.%N)" >> "$L"; exit 3;;
esac
if [ "{{ phase }}" = cutover ]; then
  if [ -e "$L.switched" ]; then
    echo "cutover checked $R $(date +%s.%N)" >> "$L"
  else
    touch "$L.switched"; echo "cutover switch $R $(date +%s.%N)" >> "$L"
  fi
fi
echo "{{ phase }} end $R $(date +%s.%N)" >> "$L"
"""


def write_playbooks(directory: Path, phases: Sequence[Phase] = tuple(Phase)) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for phase in phases:
        play: dict[str, Any] = {
            "name": f"test {phase}", "hosts": "pindah_wave", "gather_facts": False,
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                     "phase": phase.value},
            "tasks": [{"name": f"{phase} step", "ansible.builtin.shell": _STEP,
                       "args": {"executable": "/bin/sh"}}],
        }
        (directory / phase.playbook).write_text(yaml.safe_dump([play], sort_keys=False))
    return directory


def make_workspace(root: Path, servers: Sequence[str], *, sites: dict[str, str] | None = None,
                   depends: Sequence[tuple[str, str]] = ()) -> Workspace:
    """An approved one-wave plan over ``servers`` and an inventory for them (never contacted: local)."""
    ws = init_workspace(root)
    config = ws.config_path.read_text().replace("allow_self_approval = false", "allow_self_approval = true")
    ws.config_path.write_text(config + CLOUD)
    names = tuple(servers)
    plan = Plan(id=PLAN_ID, created_at="t", input_digest="d", max_wave_servers=len(names),
                waves=(Wave(index=1, servers=names, applications=("x",)),), oversized=(),
                applications=(Application(name="x", servers=names, wave=1, source="inferred", reason="r"),),
                servers=tuple(PlannedServer(name=s, application="x", wave=1, reason="r",
                                            site=(sites or {}).get(s)) for s in names),
                dependencies=tuple(PlanDependency(source=a, target=b, port=5432, weight=1.0, kind="declared")
                                   for a, b in depends),
                cross_wave_weight=0.0)
    (ws.plans_dir / f"{PLAN_ID}.yaml").write_text(dump_plan(plan))
    hosts = {s: {"ansible_host": "127.0.0.1", "pindah_services": [{"name": "app", "port": 80}],
                 "pindah_data_dirs": ["/srv/app"]} for s in names}
    (ws.inventory_dir / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    approve(ws, PLAN_ID)
    return ws


def ledger(directory: Path, host: str) -> list[tuple[str, str, bool, float]]:
    path = directory / host
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        phase, event, resume, stamp = line.split()
        out.append((phase, event, resume == "true", float(stamp)))
    return out


def ledger_env(books: Path, ledger_dir: Path, fail: str = "", sleep: float = 0.05) -> dict[str, str]:
    ledger_dir.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "PINDAH_PLAYBOOKS_DIR": str(books), "PINDAH_TEST_LEDGER": str(ledger_dir),
            "PINDAH_TEST_FAIL": fail, "PINDAH_TEST_SLEEP": str(sleep)}
