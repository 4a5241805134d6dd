"""`pindah run` through the approval gate: refused (exit 5, nothing started) or forced and audited."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from discovery.facts import HostFacts
from orchestrator import audit
from orchestrator.approval import ApprovalError, approve
from orchestrator.planning import create_plan
from orchestrator.runner.playbook import EventSink, HostOutcome, PhaseRequest, PhaseResult
from orchestrator.runner.service import RunOptions, run_wave
from orchestrator.runner.states import Phase
from orchestrator.store import Store
from orchestrator.workspace import Workspace, init_workspace

CLOUD = '[cloud]\nec2_endpoint = "http://127.0.0.1:1"\nregion = "r"\nsubnet_id = "s"\nimage_id = "i"\n'


class AllGood:
    """Every phase succeeds for every server; counts the phases it ran."""

    def __init__(self) -> None:
        self.phases = 0

    def run_phase(self, request: PhaseRequest, on_event: EventSink) -> PhaseResult:
        self.phases += 1
        outputs = {"instance_id": "i-1", "address": "10.0.0.9"} if request.phase is Phase.PROVISION else {}
        return PhaseResult({s: HostOutcome(ok=True, outputs=outputs) for s in request.servers})


def _discover(ws: Workspace, memory: int = 2048) -> None:
    facts = [HostFacts(name=n, address=f"10.1.0.{i}", reachable=True, memory_mb=memory,
                       collected_at="2026-01-01T00:00:00+00:00") for i, n in enumerate(("a", "b"), 1)]
    with Store.open(ws.db_path) as store:
        store.save_snapshot(facts, source=str(ws.inventory_dir / "hosts.yml"))


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    ws = init_workspace(tmp_path / "ws")
    ws.config_path.write_text(ws.config_path.read_text() + CLOUD)
    hosts = {s: {"ansible_host": f"10.1.0.{i}", "pindah_services": [{"name": "app", "port": 80}],
                 "pindah_data_dirs": ["/srv/app"]} for i, s in enumerate(("a", "b"), 1)}
    (ws.inventory_dir / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    _discover(ws)
    monkeypatch.setenv(audit.USER_ENV, "ana")
    create_plan(ws, plan_id="p", now=datetime(2026, 1, 1, tzinfo=UTC), max_wave_servers=5)
    return ws


def _options(force: str | None = None) -> RunOptions:
    return RunOptions("p", 1, force_reason=force)


def _kinds(ws: Workspace) -> list[str]:
    with Store.open(ws.db_path) as store:
        return [e.kind for e in audit.entries(store)]


def _runs(ws: Workspace) -> int:
    with Store.open(ws.db_path) as store:
        return len(store.runs())


def test_unapproved_run_starts_nothing(ws: Workspace) -> None:
    runner = AllGood()
    with pytest.raises(ApprovalError, match="plan p is not approved"):
        run_wave(ws, _options(), runner=runner)
    assert runner.phases == 0 and _runs(ws) == 0
    assert "run.started" not in _kinds(ws)


def test_approved_run_is_audited(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(audit.USER_ENV, "budi")
    approve(ws, "p")
    result = run_wave(ws, _options(), runner=AllGood())
    assert result.failed == []
    assert _kinds(ws)[-2:] == ["run.started", "run.finished"]
    with Store.open(ws.db_path) as store:
        started = audit.entries(store, kind="run.started")[0].payload()
        assert audit.verify(store).ok
    assert (started["approved_by"], started["forced"], started["servers"]) == ("budi", False, ["a", "b"])


def test_stale_plan_refused_then_forced(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(audit.USER_ENV, "budi")
    approve(ws, "p")
    _discover(ws, memory=4096)  # the estate changed since planning
    with pytest.raises(ApprovalError, match="plan p is stale"):
        run_wave(ws, _options(), runner=AllGood())
    assert _runs(ws) == 0
    assert run_wave(ws, _options("CAB-77 approved by the board"), runner=AllGood()).failed == []
    with Store.open(ws.db_path) as store:
        forced = audit.entries(store, kind="run.forced")[0].payload()
    assert forced["reason"] == "CAB-77 approved by the board" and "stale" in forced["problems"][0]


def test_cli_refusal_names_the_plan_and_exits_5(ws: Workspace) -> None:
    env = {**os.environ, "PINDAH_WORKSPACE": str(ws.root), "PINDAH_USER": "ana"}
    done = subprocess.run([sys.executable, "-c", "from orchestrator.cli import main; main()", "run", "--plan", "p",
                           "--wave", "1"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 5, done.stdout + done.stderr
    assert "plan p is not approved" in done.stderr and "pindah plan approve p" in done.stderr
    assert _runs(ws) == 0
