from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from orchestrator.approval import approve
from orchestrator.errors import RunError
from orchestrator.plan import Application, Plan, PlannedServer, Wave, dump_plan
from orchestrator.runner.lock import WaveLocked
from orchestrator.runner.playbook import EventSink, HostOutcome, PhaseRequest, PhaseResult
from orchestrator.runner.service import RunOptions, check_wave, run_list, run_wave, server_status, wave_lock
from orchestrator.runner.states import Phase
from orchestrator.store import Store
from orchestrator.workspace import Workspace, init_workspace

CLOUD = '[cloud]\nec2_endpoint = "http://127.0.0.1:1"\nregion = "r"\nsubnet_id = "s"\nimage_id = "i"\n'


class AllGood:
    """Every phase succeeds for every server; records which servers each phase saw."""

    def __init__(self) -> None:
        self.calls: list[tuple[Phase, tuple[str, ...]]] = []

    def run_phase(self, request: PhaseRequest, on_event: EventSink) -> PhaseResult:
        self.calls.append((request.phase, request.servers))
        outputs = {"instance_id": "i-1", "address": "10.0.0.9"} if request.phase is Phase.PROVISION else {}
        return PhaseResult({s: HostOutcome(ok=True, outputs=outputs) for s in request.servers})


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "ws")
    ws.config_path.write_text(ws.config_path.read_text() + CLOUD)
    servers = ("a", "b")
    plan = Plan(id="p", created_at="t", input_digest="d", max_wave_servers=5,
                waves=(Wave(index=1, servers=servers, applications=("x",)),), oversized=(),
                applications=(Application(name="x", servers=servers, wave=1, source="inferred", reason="r"),),
                servers=tuple(PlannedServer(name=s, application="x", wave=1, reason="r") for s in servers),
                dependencies=(), cross_wave_weight=0.0)
    (ws.plans_dir / "p.yaml").write_text(dump_plan(plan))
    hosts = {s: {"ansible_host": f"10.1.0.{i}", "pindah_services": [{"name": "app", "port": 80}],
                 "pindah_data_dirs": ["/srv/app"]} for i, s in enumerate(servers, 1)}
    (ws.inventory_dir / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    ws.config_path.write_text(ws.config_path.read_text().replace("allow_self_approval = false",
                                                                 "allow_self_approval = true"))
    approve(ws, "p")  # a run needs an approved plan
    return ws


def test_done_servers_are_not_migrated_twice(ws: Workspace) -> None:
    runner = AllGood()
    options = RunOptions("p", 1, inventory=ws.inventory_dir / "hosts.yml")
    assert run_wave(ws, options, runner=runner).failed == []
    assert runner.calls[0] == (Phase.PRECHECK, ("a", "b"))
    assert [r["state"] for r in server_status(ws, "p")] == ["done", "done"]
    with pytest.raises(RunError, match="already done"):
        run_wave(ws, options, runner=AllGood())


def test_no_inventory_and_no_snapshot_has_a_hint(ws: Workspace) -> None:
    with pytest.raises(RunError) as info:
        run_wave(ws, RunOptions("p", 1), runner=AllGood())
    assert "-i INVENTORY" in info.value.hint


class StopsAt:
    """Interrupted (as by Ctrl-C) when ``phase`` starts; otherwise every phase succeeds."""

    def __init__(self, phase: Phase | None) -> None:
        self.phase = phase
        self.calls: list[tuple[Phase, tuple[str, ...]]] = []

    def run_phase(self, request: PhaseRequest, on_event: EventSink) -> PhaseResult:
        if request.phase is self.phase:
            raise KeyboardInterrupt
        self.calls.append((request.phase, request.servers))
        return PhaseResult({s: HostOutcome(ok=True) for s in request.servers})


def test_running_the_same_command_again_resumes_the_interrupted_run(ws: Workspace) -> None:
    options = RunOptions("p", 1, inventory=ws.inventory_dir / "hosts.yml")
    with pytest.raises(KeyboardInterrupt):
        run_wave(ws, options, runner=StopsAt(Phase.REPLICATE))
    plan = check_wave(ws, options)
    assert plan["resume_run"] == 1
    assert [s["phases"][0] for s in plan["servers"]] == ["replicate", "replicate"]
    again = StopsAt(None)
    result = run_wave(ws, options, runner=again)
    assert result.run_id == 1 and result.status == "done"
    assert again.calls[0] == (Phase.REPLICATE, ("a", "b"))
    assert [r["id"] for r in run_list(ws)] == [1]
    rows = server_status(ws, "p")
    assert rows[0]["phases"]["precheck"]["attempts"] == 1 and rows[0]["phases"]["replicate"]["seconds"] >= 0


def test_resume_without_an_unfinished_run_is_an_error(ws: Workspace) -> None:
    options = RunOptions("p", 1, inventory=ws.inventory_dir / "hosts.yml", resume=True)
    with pytest.raises(RunError, match="no unfinished run") as info:
        run_wave(ws, options, runner=AllGood())
    assert info.value.hint


def test_check_changes_nothing(ws: Workspace) -> None:
    wal = ws.db_path.with_name(ws.db_path.name + "-wal")

    def snapshot() -> tuple[bytes, bytes]:
        return ws.db_path.read_bytes(), wal.read_bytes() if wal.exists() else b""

    before = snapshot()
    found = check_wave(ws, RunOptions("p", 1, inventory=ws.inventory_dir / "hosts.yml", max_parallel=1,
                                      pause_before_cutover=True))
    assert found["resume_run"] is None and found["limits"]["max_parallel"] == 1
    assert [(s["name"], s["cohort"]) for s in found["servers"]] == [("a", 1), ("b", 2)]
    assert found["servers"][0]["phases"][-1] == "replicate"  # paused before cutover
    assert snapshot() == before
    assert not ws.runs_dir.exists() or not any(ws.runs_dir.iterdir())


def test_a_wave_being_run_is_refused(ws: Workspace) -> None:
    with wave_lock(ws, "p", 1), pytest.raises(WaveLocked, match=f"pid {os.getpid()}"):
        run_wave(ws, RunOptions("p", 1, inventory=ws.inventory_dir / "hosts.yml"), runner=AllGood())
    with Store.open(ws.db_path) as store:
        assert store.runs() == []


def test_a_resume_keeps_the_pause_before_cutover(ws: Workspace) -> None:
    options = RunOptions("p", 1, inventory=ws.inventory_dir / "hosts.yml", pause_before_cutover=True)
    with pytest.raises(KeyboardInterrupt):
        run_wave(ws, options, runner=StopsAt(Phase.PROVISION))
    runner = StopsAt(None)
    result = run_wave(ws, RunOptions("p", 1, resume=True), runner=runner)  # no flags, no -i: as recorded
    assert result.status == "paused" and Phase.CUTOVER not in [p for p, _ in runner.calls]
    done = run_wave(ws, RunOptions("p", 1, resume=True, approve_cutover=True), runner=runner)
    assert done.status == "done" and Phase.CUTOVER in [p for p, _ in runner.calls]
