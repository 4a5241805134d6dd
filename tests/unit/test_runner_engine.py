from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator.runner.engine import WaveEngine, WaveRequest
from orchestrator.runner.playbook import EventSink, HostOutcome, PhaseRequest, PhaseResult
from orchestrator.runner.states import Phase, ServerState
from orchestrator.runner.targets import MigrationSpec, ServiceSpec, SshEndpoint
from orchestrator.store import Store

SECRET = "s3cr3t-VALUE-xyz"


def spec(name: str) -> MigrationSpec:
    return MigrationSpec(name=name, source=SshEndpoint(address=f"10.0.0.{len(name)}", key_file="/k",
                                                       known_hosts_file="/kh"),
                         services=(ServiceSpec(name="app", port=8080),), data_dirs=("/srv/app",),
                         target_user="root", target_key_file="/k", target_known_hosts_file="/kh")


@dataclass
class ScriptedRunner:
    """A fake PlaybookRunner: expects exactly the scripted phases with exactly the given servers."""

    script: list[tuple[Phase, tuple[str, ...], dict[str, HostOutcome]]]
    seen: list[PhaseRequest] = field(default_factory=list)
    store: Store | None = None

    def run_phase(self, request: PhaseRequest, on_event: EventSink) -> PhaseResult:
        if not self.script:
            raise AssertionError(f"unexpected phase {request.phase} for {request.servers}")
        phase, servers, outcomes = self.script.pop(0)
        assert request.phase is phase, f"expected {phase}, got {request.phase}"
        assert request.servers == servers, f"{phase}: expected {servers}, got {request.servers}"
        if self.store is not None:  # the phase state is persisted before the phase starts
            states = {r.server: r.state for r in self.store.run_servers()}
            assert all(states[s] == phase.state for s in servers), states
        self.seen.append(request)
        for server in servers:
            on_event(server, {"event": "runner_on_ok", "host": server, "task": "t",
                              "msg": f"token {SECRET}", "aws_secret_access_key": SECRET})
        return PhaseResult(outcomes)


def ok(**outputs: Any) -> HostOutcome:
    return HostOutcome(ok=True, outputs=outputs)


def provision_ok(*names: str) -> dict[str, HostOutcome]:
    return {n: ok(instance_id=f"i-{n}", address=f"10.9.0.{i + 1}", created=True) for i, n in enumerate(names)}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "state.db", create=True)


def request(tmp_path: Path, *names: str) -> WaveRequest:
    return WaveRequest(plan_id="p1", wave=1, specs=tuple(spec(n) for n in names),
                       cloud={"ec2_endpoint": "http://x"}, runs_dir=tmp_path / "runs",
                       env={"AWS_SECRET_ACCESS_KEY": SECRET})


def test_failed_server_drops_out_and_others_finish(store: Store, tmp_path: Path) -> None:
    answers = {"app": "abc"}
    runner = ScriptedRunner([
        (Phase.PRECHECK, ("a", "bb", "ccc"), {"a": ok(answers=answers), "bb": ok(answers=answers),
                                              "ccc": HostOutcome(ok=False, error="ping: unreachable")}),
        (Phase.BACKUP, ("a", "bb"), {"a": ok(), "bb": ok()}),
        (Phase.PROVISION, ("a", "bb"), provision_ok("a", "bb")),
        (Phase.REPLICATE, ("a", "bb"), {"a": ok(), "bb": HostOutcome(ok=False, error="rsync rc=23")}),
        (Phase.ROLLBACK, ("bb",), {"bb": ok()}),
        (Phase.CUTOVER, ("a",), {"a": ok()}),
        (Phase.VALIDATE, ("a",), {"a": ok()}),
        (Phase.FINALIZE, ("a",), {"a": ok()}),
    ], store=store)
    result = WaveEngine(store, runner).run(request(tmp_path, "a", "bb", "ccc"))
    assert runner.script == []
    assert result.states == {"a": ServerState.DONE, "bb": ServerState.ROLLED_BACK, "ccc": ServerState.FAILED}
    rows = {r.server: r for r in store.run_servers()}
    assert rows["ccc"].phase == "precheck" and rows["ccc"].error == "ping: unreachable"
    assert rows["bb"].phase == "rollback" and rows["bb"].error == "rsync rc=23"
    assert rows["bb"].data["rollback"] == {"ok": True, "error": None}
    assert rows["bb"].data["target"]["instance_id"] == "i-bb"
    assert rows["a"].state == "done" and rows["a"].data["target"]["address"] == "10.9.0.1"
    assert store.runs()[0].status == "failed"


def test_later_phases_get_target_and_expected_answers(store: Store, tmp_path: Path) -> None:
    runner = ScriptedRunner([
        (Phase.PRECHECK, ("a",), {"a": ok(answers={"app": "d1"})}),
        (Phase.PROVISION, ("a",), provision_ok("a")),
        (Phase.REPLICATE, ("a",), {"a": ok()}),
        (Phase.CUTOVER, ("a",), {"a": ok()}),
        (Phase.VALIDATE, ("a",), {"a": ok()}),
    ])
    without = frozenset(Phase) - {Phase.BACKUP, Phase.FINALIZE}  # an installation without those playbooks
    result = WaveEngine(store, runner).run(replace(request(tmp_path, "a"), phases=without))
    assert result.status == "done" and store.runs()[0].status == "done"
    skipped = [e["phase"] for e in store.events(server="a") if e["kind"] == "phase_skipped"]
    assert skipped == ["backup", "finalize"]
    precheck, provision, replicate = runner.seen[0], runner.seen[1], runner.seen[2]
    assert "a__target" not in precheck.hostvars and "a__target" not in provision.hostvars
    assert replicate.hostvars["a__target"]["ansible_host"] == "10.9.0.1"
    assert replicate.hostvars["a"]["pindah_target_address"] == "10.9.0.1"
    assert runner.seen[4].hostvars["a"]["pindah_expected_answers"] == {"app": "d1"}
    assert "StrictHostKeyChecking=yes" in replicate.hostvars["a"]["ansible_ssh_common_args"]


def test_runner_crash_fails_active_servers_without_leaking_secrets(store: Store, tmp_path: Path) -> None:
    class Crashing:
        def run_phase(self, request: PhaseRequest, on_event: EventSink) -> PhaseResult:
            raise OSError(f"cannot exec with {SECRET}")

    result = WaveEngine(store, Crashing()).run(request(tmp_path, "a", "bb"))
    assert result.failed == ["a", "bb"]
    assert result.states == {"a": ServerState.FAILED, "bb": ServerState.FAILED}
    assert SECRET not in (result.errors["a"])
    assert "runner error: OSError" in result.errors["a"]


def test_missing_outcome_is_a_failure_not_a_success(store: Store, tmp_path: Path) -> None:
    runner = ScriptedRunner([(Phase.PRECHECK, ("a", "bb"), {"a": ok(answers={})})])
    runner.script += [(Phase.BACKUP, ("a",), {"a": ok()}),
                      (Phase.PROVISION, ("a",), {"a": HostOutcome(ok=False, error="quota")}),
                      (Phase.ROLLBACK, ("a",), {"a": HostOutcome(ok=False, error="source will not start")})]
    result = WaveEngine(store, runner).run(request(tmp_path, "a", "bb"))
    assert result.states == {"a": ServerState.FAILED, "bb": ServerState.FAILED}
    assert result.errors["a"] == "quota; rollback failed: source will not start"
    assert "no result" in result.errors["bb"]


def test_events_are_redacted_before_storage(store: Store, tmp_path: Path) -> None:
    runner = ScriptedRunner([(Phase.PRECHECK, ("a",), {"a": HostOutcome(ok=False, error="x")})])
    WaveEngine(store, runner).run(request(tmp_path, "a"))
    stored = json.dumps(store.events(server="a"))
    assert SECRET not in stored
    assert "********" in stored
    kinds = [e["kind"] for e in store.events(server="a")]
    assert kinds == ["state", "phase_started", "runner_on_ok", "state"]
    assert Path(store.path).read_bytes().find(SECRET.encode()) == -1


def test_every_transition_is_an_event(store: Store, tmp_path: Path) -> None:
    script: list[tuple[Phase, tuple[str, ...], Mapping[str, HostOutcome]]] = [
        (p, ("a",), provision_ok("a") if p is Phase.PROVISION else {"a": ok()}) for p in Phase]
    WaveEngine(store, ScriptedRunner(script)).run(request(tmp_path, "a"))  # type: ignore[arg-type]
    moves = [(e["data"]["from"], e["data"]["to"]) for e in store.events(server="a") if e["kind"] == "state"]
    assert moves == [("pending", "prechecking"), ("prechecking", "backing_up"), ("backing_up", "provisioning"),
                     ("provisioning", "replicating"), ("replicating", "cutting_over"),
                     ("cutting_over", "validating"), ("validating", "finalizing"), ("finalizing", "done")]


def test_interrupt_keeps_states_for_resume(store: Store, tmp_path: Path) -> None:
    class Interrupted:
        def run_phase(self, request: PhaseRequest, on_event: EventSink) -> PhaseResult:
            if request.phase is Phase.PROVISION:
                raise KeyboardInterrupt
            return PhaseResult({s: ok(answers={}) for s in request.servers})

    with pytest.raises(KeyboardInterrupt):
        WaveEngine(store, Interrupted()).run(request(tmp_path, "a", "bb"))
    rows = store.run_servers()
    assert {(r.state, r.phase) for r in rows} == {("provisioning", "provision")}
    assert store.runs()[0].status == "interrupted" and store.runs()[0].finished_at
