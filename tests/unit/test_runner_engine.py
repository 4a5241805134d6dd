from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator.runner.engine import WaveEngine, WaveRequest
from orchestrator.runner.playbook import EventSink, HostOutcome, PhaseRequest, PhaseResult
from orchestrator.runner.schedule import FailureBudget, Limits, Placement
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
    assert rows["bb"].data["rollback_result"] == {"ok": True, "error": None}
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


@dataclass
class Behaving:
    """A fake PlaybookRunner deciding per (phase, server); records every call with its resume flags."""

    fail: dict[tuple[Phase, str], HostOutcome] = field(default_factory=dict)
    stop_at: Phase | None = None  # raise KeyboardInterrupt when this phase is asked for (a kill)
    calls: list[tuple[Phase, tuple[str, ...], dict[str, bool]]] = field(default_factory=list)

    def run_phase(self, request: PhaseRequest, on_event: EventSink) -> PhaseResult:
        if request.phase is self.stop_at:
            self.stop_at = None
            raise KeyboardInterrupt
        resume = {s: bool(request.hostvars[s]["pindah_resume"]) for s in request.servers}
        self.calls.append((request.phase, request.servers, resume))
        out = {}
        for server in request.servers:
            failure = self.fail.get((request.phase, server))
            if failure is not None and failure.transient:
                self.fail.pop((request.phase, server))  # transient: the next attempt works
            out[server] = failure or (provision_ok(server)[server] if request.phase is Phase.PROVISION else ok())
        return PhaseResult(out)

    def phases_of(self, server: str) -> list[str]:
        return [p.value for p, servers, _ in self.calls if server in servers]


def test_resume_continues_the_run_without_repeating_completed_phases(store: Store, tmp_path: Path) -> None:
    runner = Behaving(stop_at=Phase.CUTOVER)
    with pytest.raises(KeyboardInterrupt):
        WaveEngine(store, runner).run(request(tmp_path, "a", "bb"))
    assert store.runs()[0].status == "interrupted"
    assert {r.state for r in store.run_servers()} == {"cutting_over"}
    result = WaveEngine(store, runner).run(replace(request(tmp_path, "a", "bb"), resume_run=1))
    assert result.status == "done" and result.states == {"a": ServerState.DONE, "bb": ServerState.DONE}
    assert runner.phases_of("a") == ["precheck", "backup", "provision", "replicate", "cutover", "validate",
                                     "finalize"]
    assert len(store.runs()) == 1 and store.runs()[0].status == "done"


def test_an_interrupted_phase_is_rerun_with_pindah_resume(store: Store, tmp_path: Path) -> None:
    class DiesInCutover(Behaving):
        def run_phase(self, request: PhaseRequest, on_event: EventSink) -> PhaseResult:
            if request.phase is Phase.CUTOVER and not any(p is Phase.CUTOVER for p, _, _ in self.calls):
                self.calls.append((request.phase, request.servers, {}))
                raise KeyboardInterrupt  # killed while the cutover playbook ran
            return super().run_phase(request, on_event)

    runner = DiesInCutover()
    with pytest.raises(KeyboardInterrupt):
        WaveEngine(store, runner).run(request(tmp_path, "a"))
    row = store.run_servers()[0]
    assert row.data["phases"]["cutover"]["attempts"] == 1 and "ended" not in row.data["phases"]["cutover"]
    WaveEngine(store, runner).run(replace(request(tmp_path, "a"), resume_run=1))
    cutovers = [r for p, _, r in runner.calls if p is Phase.CUTOVER]
    assert cutovers[1] == {"a": True}  # the playbook is told to check whether it already switched
    validate = [r for p, _, r in runner.calls if p is Phase.VALIDATE]
    assert validate == [{"a": False}]


def test_transient_failures_are_retried_with_back_off(store: Store, tmp_path: Path) -> None:
    slept: list[float] = []
    unreachable = HostOutcome(ok=False, error="ssh: unreachable", transient=True)
    runner = Behaving(fail={(Phase.BACKUP, "a"): unreachable})
    engine = WaveEngine(store, runner, sleep=slept.append)
    result = engine.run(replace(request(tmp_path, "a", "bb"), retry_delay=3.0))
    assert result.status == "done"
    assert runner.phases_of("a").count("backup") == 2 and runner.phases_of("bb").count("backup") == 1
    assert slept == [3.0]
    retry = [e for e in store.events(server="a") if e["kind"] == "retry"]
    assert retry[0]["data"]["attempt"] == 2 and "unreachable" in retry[0]["data"]["error"]


def test_transient_failures_beyond_the_retries_fail_the_server(store: Store, tmp_path: Path) -> None:
    class AlwaysDark(Behaving):
        def run_phase(self, request: PhaseRequest, on_event: EventSink) -> PhaseResult:
            self.calls.append((request.phase, request.servers, {}))
            return PhaseResult({s: HostOutcome(ok=False, error="unreachable", transient=True)
                                for s in request.servers})

    slept: list[float] = []
    runner = AlwaysDark()
    result = WaveEngine(store, runner, sleep=slept.append).run(replace(request(tmp_path, "a"), retries=2))
    assert result.states == {"a": ServerState.FAILED} and slept == [2.0, 4.0]
    assert store.run_servers()[0].data["phases"]["precheck"]["attempts"] == 3


def test_pause_before_cutover_then_approve(store: Store, tmp_path: Path) -> None:
    runner = Behaving()
    paused = WaveEngine(store, runner).run(replace(request(tmp_path, "a"), pause_before_cutover=True))
    assert paused.status == "paused" and paused.states == {"a": ServerState.AWAITING_CUTOVER}
    assert "cutover" not in runner.phases_of("a")
    again = WaveEngine(store, runner).run(replace(request(tmp_path, "a"), pause_before_cutover=True,
                                                  resume_run=1))
    assert again.status == "paused" and "cutover" not in runner.phases_of("a")
    done = WaveEngine(store, runner).run(replace(request(tmp_path, "a"), pause_before_cutover=True,
                                                 approve_cutover=True, resume_run=1))
    assert done.status == "done" and runner.phases_of("a")[-3:] == ["cutover", "validate", "finalize"]


def test_failure_budget_stops_new_servers_and_dependents_are_blocked(store: Store, tmp_path: Path) -> None:
    runner = Behaving(fail={(Phase.PROVISION, "a"): HostOutcome(ok=False, error="quota")})
    placement = Placement(sites={}, zones={}, depends_on={"ccc": frozenset({"a"})})
    req = replace(request(tmp_path, "a", "bb", "ccc", "dddd"), placement=placement,
                  limits=Limits(max_parallel=1, failure_budget=FailureBudget(count=0)))
    result = WaveEngine(store, runner).run(req)
    assert result.states["a"] is ServerState.ROLLED_BACK
    assert result.states["ccc"] is ServerState.BLOCKED  # its dependency a failed
    assert result.states["bb"] is ServerState.PENDING and result.states["dddd"] is ServerState.PENDING
    assert result.status == "halted"
    kinds = [e["kind"] for e in store.events(run_id=1) if e["server"] is None]
    assert "budget_exceeded" in kinds
    assert runner.phases_of("bb") == [] and runner.phases_of("ccc") == []


def test_max_parallel_runs_cohorts(store: Store, tmp_path: Path) -> None:
    runner = Behaving()
    req = replace(request(tmp_path, "a", "bb", "ccc"), limits=Limits(max_parallel=2))
    assert WaveEngine(store, runner).run(req).status == "done"
    prechecks = [servers for p, servers, _ in runner.calls if p is Phase.PRECHECK]
    assert prechecks == [("a", "bb"), ("ccc",)]
    row = {r.server: r for r in store.run_servers()}
    assert row["ccc"].data["phases"]["precheck"]["started"] >= row["bb"].data["phases"]["finalize"]["ended"]
