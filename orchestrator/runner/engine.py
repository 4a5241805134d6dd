"""The wave engine: every server of a wave through the phases; each transition persisted before the next step.

Servers start in cohorts within the concurrency limits (:mod:`orchestrator.runner.schedule`); a cohort
walks the phases together, one ansible run per phase. Every state change, and the start and end of every
phase per server, is one store transaction written before anything else happens, so a run killed at any
moment is resumed from the store: a completed phase is never run again, an interrupted one is run again
with ``pindah_resume: true`` so that its playbook checks what already happened (cutover never twice).

A failure is data: precheck failures leave the server ``failed``; later failures run rollback.yml
(``rolled_back``, or ``failed`` when the rollback fails too). Unreachable hosts and a killed ansible
process are transient: retried with back-off, then counted as failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from orchestrator.runner.events import redact, secret_env_values
from orchestrator.runner.hostvars import WaveContext, phase_data, wave_extravars, wave_hostvars
from orchestrator.runner.playbook import HostOutcome, PhaseRequest, PhaseResult, PlaybookRunner
from orchestrator.runner.schedule import Limits, Placement, admit, blocked_by, over_budget
from orchestrator.runner.states import (
    PAUSED,
    PHASES,
    TERMINAL,
    UNSUCCESSFUL,
    Phase,
    RunStatus,
    ServerState,
    failure_state,
    next_phase,
    phase_of,
    transition,
)
from orchestrator.store import ServerChange, Store

EVENT_BATCH = 200


class WaveObserver(Protocol):
    def server_changed(self, server: str, state: ServerState, phase: Phase | None, error: str | None) -> None:
        ...


@dataclass(frozen=True)
class WaveRequest:
    plan_id: str
    wave: int
    specs: tuple[Any, ...]  # MigrationSpec per server, in wave order
    cloud: Mapping[str, Any]  # non-secret settings handed to the playbooks
    runs_dir: Path
    forks: int = 10
    env: Mapping[str, str] = field(default_factory=dict)  # secrets for the playbooks (credentials)
    phases: frozenset[Phase] = frozenset(Phase)  # the phases whose playbook exists; others are skipped
    limits: Limits = field(default_factory=Limits)
    placement: Placement = field(default_factory=lambda: Placement({}, {}, {}))
    outside: Mapping[str, ServerState] = field(default_factory=dict)  # latest state of servers of other waves
    retries: int = 2  # extra attempts for a transient failure (unreachable, ansible killed)
    retry_delay: float = 2.0  # back-off: delay, 2*delay, 4*delay, ...
    pause_before_cutover: bool = False
    approve_cutover: bool = False
    resume_run: int | None = None  # continue this run instead of creating one
    meta: Mapping[str, Any] = field(default_factory=dict)  # what a resume needs to know (the inventory path)
    context: WaveContext | None = None  # the plan's view of the wave for the playbooks (flavors, dependencies)


@dataclass(frozen=True)
class WaveResult:
    run_id: int
    states: Mapping[str, ServerState]
    errors: Mapping[str, str]
    status: RunStatus = RunStatus.DONE

    @property
    def failed(self) -> list[str]:
        return sorted(s for s, st in self.states.items() if st in UNSUCCESSFUL)


class WaveEngine:
    def __init__(self, store: Store, runner: PlaybookRunner, observer: WaveObserver | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.runner = runner
        self.observer = observer
        self.sleep = sleep
        self.clock = clock

    def run(self, request: WaveRequest) -> WaveResult:
        wave = self._open(request)
        try:
            self._drive(wave)
        except BaseException as exc:  # interrupted (Ctrl-C) or broken: states stay as stored, resumable
            wave.flush()
            self.store.add_event(wave.run_id, None, wave.phase, "interrupted", {"reason": type(exc).__name__})
            self.store.set_run_status(wave.run_id, RunStatus.INTERRUPTED, finished=True)
            raise
        status = wave.status()
        self.store.set_run_status(wave.run_id, status, finished=True)
        return WaveResult(wave.run_id, dict(wave.states), dict(wave.errors), status)

    def _open(self, request: WaveRequest) -> _Wave:
        if request.resume_run is None:
            names = [s.name for s in request.specs]
            run_id = self.store.create_run(request.plan_id, request.wave, names, ServerState.PENDING)
            wave = _Wave(self.store, run_id, request, {n: ServerState.PENDING for n in names})
            self.store.add_event(run_id, None, None, "started", dict(request.meta))
        else:
            run_id = request.resume_run
            rows = self.store.run_rows(run_id)
            wave = _Wave(self.store, run_id, request, {r.server: ServerState(r.state) for r in rows})
            for row in rows:
                wave.data[row.server] = dict(row.data)
                if row.error:
                    wave.errors[row.server] = row.error
            self.store.set_run_status(run_id, RunStatus.RUNNING, finished=False)
            self.store.add_event(run_id, None, None, "resumed", {
                "states": {n: s.value for n, s in wave.states.items() if s not in TERMINAL}})
        for name, state in wave.states.items():
            self._notify(name, state, phase_of(state), wave.errors.get(name))
        return wave

    # -- scheduling --------------------------------------------------------------------------
    def _drive(self, wave: _Wave) -> None:
        request = wave.request
        if request.approve_cutover:
            approved = [n for n, st in wave.states.items() if st is ServerState.AWAITING_CUTOVER]
            self._move(wave, approved, ServerState.CUTTING_OVER, Phase.CUTOVER, "cutover approved")
        while True:
            self._block(wave)
            in_flight = [n for n, st in wave.states.items()
                         if st not in TERMINAL and st not in PAUSED and st is not ServerState.PENDING]
            pending = [n for n, st in wave.states.items() if st is ServerState.PENDING]
            new: list[str] = []
            if over_budget(request.limits, wave.states):
                if pending and not wave.halted:
                    wave.halted = True
                    self.store.add_event(wave.run_id, None, None, "budget_exceeded", {
                        "budget": str(request.limits.failure_budget), "pending": pending})
            else:
                waiting = [n for n, st in wave.states.items() if st in PAUSED]
                new = admit(pending, in_flight, request.limits, request.placement, waiting)
            if not in_flight and not new:
                return
            self._move(wave, new, ServerState.PRECHECKING, Phase.PRECHECK, "started")
            members = set(in_flight) | set(new)
            self._cohort(wave, [n for n in wave.states if n in members])

    def _block(self, wave: _Wave) -> None:
        known = {**wave.request.outside, **wave.states}
        for name, state in list(wave.states.items()):
            if state is ServerState.PENDING:
                why = blocked_by(name, wave.request.placement, known)
                if why:
                    wave.errors[name] = why
                    self._move(wave, [name], ServerState.BLOCKED, Phase.PRECHECK, why, error=why)
                    known[name] = ServerState.BLOCKED

    def _cohort(self, wave: _Wave, cohort: Sequence[str]) -> None:
        for phase in PHASES:
            self._roll_back(wave, cohort)
            due = [n for n in cohort if wave.states[n] is phase.state]
            if due:
                self._phase(wave, phase, due)
        self._roll_back(wave, cohort)

    def _roll_back(self, wave: _Wave, cohort: Sequence[str]) -> None:
        failing = [n for n in cohort if wave.states[n] is ServerState.ROLLING_BACK]
        if failing:
            self._phase(wave, Phase.ROLLBACK, failing)

    # -- one phase for some servers ------------------------------------------------------------
    def _phase(self, wave: _Wave, phase: Phase, due: Sequence[str]) -> None:
        wave.phase = phase
        if phase not in wave.request.phases:
            self._skip(wave, phase, due)
            return
        todo = list(due)
        while todo:
            resume = [n for n in todo if wave.interrupted(n, phase)]
            self._mark_started(wave, phase, todo, resume)
            result = self._run_phase(wave, phase, todo, resume)
            retry = self._settle(wave, phase, todo, result)
            if retry:
                delay = max(wave.request.retry_delay * 2 ** (wave.attempts(n, phase) - 1) for n in retry)
                self.store.add_events(wave.run_id, [(n, phase, "retry", {
                    "attempt": wave.attempts(n, phase) + 1, "delay_s": delay, "error": wave.last_error(n)})
                    for n in retry])
                for name in retry:
                    self._notify(name, wave.states[name], phase, f"retrying in {delay:g}s: {wave.last_error(name)}")
                self.sleep(delay)
            todo = retry

    def _skip(self, wave: _Wave, phase: Phase, due: Sequence[str]) -> None:
        reason = f"no playbook {phase.playbook} in this installation"
        self.store.add_events(wave.run_id, [(n, phase, "phase_skipped", {"reason": reason}) for n in due])
        if phase is Phase.ROLLBACK:
            for name in due:
                wave.errors[name] = f"{wave.errors.get(name)}; rollback not run: {reason}"
            self._move(wave, due, ServerState.FAILED, phase, "rollback unavailable")
            return
        for name in due:
            wave.phase_record(name, phase)["skipped"] = True
        self._advance(wave, phase, due)

    def _mark_started(self, wave: _Wave, phase: Phase, names: Sequence[str], resume: Sequence[str]) -> None:
        now = self.clock()
        changes = []
        for name in names:
            record = wave.phase_record(name, phase)
            record["attempts"] = int(record.get("attempts", 0)) + 1
            record["started"] = now
            record.pop("ended", None)
            wave.phases_of[name] = phase
            changes.append(wave.change(name, "phase_started", {
                "attempt": record["attempts"], "resume": name in resume}))
        self.store.apply_changes(wave.run_id, changes)

    def _run_phase(self, wave: _Wave, phase: Phase, names: Sequence[str], resume: Sequence[str]) -> PhaseResult:
        secrets = secret_env_values(wave.request.env)

        def sink(server: str | None, record: dict[str, Any]) -> None:
            wave.buffer.append((server, phase, str(record.get("event", "ansible")), redact(record, secrets)))
            if len(wave.buffer) >= EVENT_BATCH:
                wave.flush()

        hostvars = wave.hostvars(names)
        for name in names:
            hostvars[name]["pindah_resume"] = name in resume
            hostvars[name]["pindah_attempt"] = wave.attempts(name, phase)
        request = PhaseRequest(phase=phase, servers=tuple(names), hostvars=hostvars, extravars=wave.extravars(),
                               workdir=wave.workdir, forks=wave.request.forks, env=wave.request.env)
        try:
            return self.runner.run_phase(request, sink)
        except Exception as exc:  # the runner itself broke: every server of the phase fails, with the reason
            message = str(redact(f"{type(exc).__name__}: {exc}", secrets))
            return PhaseResult({name: HostOutcome(ok=False, error=f"runner error: {message}") for name in names})
        finally:
            wave.flush()

    def _settle(self, wave: _Wave, phase: Phase, names: Sequence[str], result: PhaseResult) -> list[str]:
        """Record each server's outcome; return the servers to retry (transient, attempts left)."""
        now = self.clock()
        good, bad, retry = [], [], []
        for name in names:
            outcome = result.outcomes.get(name) or HostOutcome(
                ok=False, error="the playbook runner returned no result for this server")
            record = wave.phase_record(name, phase)
            record["ended"] = now
            record["ok"] = outcome.ok
            if outcome.ok:
                record.pop("error", None)
                wave.absorb(name, phase, outcome.outputs)
                good.append(name)
                continue
            record["error"] = outcome.error or "failed"
            if outcome.transient and wave.attempts(name, phase) <= wave.request.retries:
                retry.append(name)
            else:
                bad.append(name)
        if phase is Phase.ROLLBACK:
            self._rollback_settled(wave, good, bad)
        else:
            self._advance(wave, phase, good)
            self._fail(wave, phase, bad)
        if retry:
            self.store.apply_changes(wave.run_id, [wave.change(n, "phase_failed", {"transient": True})
                                                   for n in retry])
        return retry

    def _advance(self, wave: _Wave, phase: Phase, names: Sequence[str]) -> None:
        following = next_phase(phase)
        if following is None:
            self._move(wave, names, ServerState.DONE, phase, "finished")
        elif following is Phase.CUTOVER and wave.request.pause_before_cutover and not wave.request.approve_cutover:
            self._move(wave, names, ServerState.AWAITING_CUTOVER, phase, "waiting for cutover approval")
        else:
            self._move(wave, names, following.state, following, f"{phase} completed")

    def _fail(self, wave: _Wave, phase: Phase, names: Sequence[str]) -> None:
        for name in names:
            error = str(wave.phase_record(name, phase).get("error") or "failed")
            wave.errors[name] = error
            wave.data[name]["error"] = {"phase": phase.value, "message": error}
            self._move(wave, [name], failure_state(phase), phase, f"{phase} failed", error=error)

    def _rollback_settled(self, wave: _Wave, good: Sequence[str], bad: Sequence[str]) -> None:
        for name in good:
            wave.data[name]["rollback_result"] = {"ok": True, "error": None}
            self._move(wave, [name], ServerState.ROLLED_BACK, Phase.ROLLBACK, "rolled back",
                       error=wave.errors.get(name))
        for name in bad:
            why = str(wave.phase_record(name, Phase.ROLLBACK).get("error") or "failed")
            wave.data[name]["rollback_result"] = {"ok": False, "error": why}
            wave.errors[name] = f"{wave.errors.get(name)}; rollback failed: {why}"
            self._move(wave, [name], ServerState.FAILED, Phase.ROLLBACK, "rollback failed",
                       error=wave.errors[name])

    def _move(self, wave: _Wave, names: Sequence[str], new: ServerState, phase: Phase, why: str, *,
              error: str | None = None) -> None:
        """Transition ``names`` to ``new``: one transaction for their rows and events, then tell the observer."""
        if not names:
            return
        changes = []
        for name in names:
            old = wave.states[name]
            wave.states[name] = transition(old, new)
            wave.phases_of[name] = phase
            changes.append(wave.change(name, "state", {"from": old.value, "to": new.value, "why": why,
                                                       "error": error}, error=error))
        self.store.apply_changes(wave.run_id, changes)
        for name in names:
            self._notify(name, new, phase, error)

    def _notify(self, name: str, state: ServerState, phase: Phase | None, error: str | None) -> None:
        if self.observer is not None:
            self.observer.server_changed(name, state, phase, error)


class _Wave:
    """Mutable bookkeeping of one run: states, errors, and what each phase recorded per server."""

    def __init__(self, store: Store, run_id: int, request: WaveRequest, states: dict[str, ServerState]) -> None:
        self.store = store
        self.run_id = run_id
        self.request = request
        self.states = states
        self.errors: dict[str, str] = {}
        self.specs = {s.name: s for s in request.specs}
        self.data: dict[str, dict[str, Any]] = {name: {} for name in states}
        self.phases_of: dict[str, Phase | None] = {name: phase_of(st) for name, st in states.items()}
        self.workdir = request.runs_dir / str(run_id)
        self.phase: Phase | None = None
        self.halted = False
        self.buffer: list[tuple[str | None, str | None, str, dict[str, Any]]] = []

    def flush(self) -> None:
        rows, self.buffer = self.buffer, []
        self.store.add_events(self.run_id, rows)

    def status(self) -> RunStatus:
        states = set(self.states.values())
        if states & PAUSED:
            return RunStatus.PAUSED
        if ServerState.PENDING in states:
            return RunStatus.HALTED
        return RunStatus.FAILED if states & UNSUCCESSFUL else RunStatus.DONE

    def phase_record(self, name: str, phase: Phase) -> dict[str, Any]:
        record: dict[str, Any] = self.data[name].setdefault("phases", {}).setdefault(phase.value, {})
        return record

    def attempts(self, name: str, phase: Phase) -> int:
        return int(self.phase_record(name, phase).get("attempts", 0))

    def interrupted(self, name: str, phase: Phase) -> bool:
        """The phase began for this server before (killed, or a transient failure): the playbook must check."""
        return self.attempts(name, phase) > 0

    def last_error(self, name: str) -> str:
        phase = self.phase or Phase.PRECHECK
        return str(self.phase_record(name, phase).get("error") or "")

    def change(self, name: str, kind: str, event: dict[str, Any], error: str | None = None) -> ServerChange:
        phase = self.phases_of.get(name)
        return ServerChange(server=name, state=self.states[name].value, phase=phase.value if phase else None,
                            error=error if error is not None else self.errors.get(name), data=self.data[name],
                            kind=kind, event=event)

    def absorb(self, name: str, phase: Phase, outputs: Mapping[str, Any]) -> None:
        """Keep what the phase reported for later phases (hostvars.phase_data decides what and where)."""
        self.data[name].update(phase_data(phase.value, outputs))

    def extravars(self) -> dict[str, Any]:
        return wave_extravars(self.request.plan_id, self.request.wave, self.request.cloud)

    def hostvars(self, names: Sequence[str]) -> dict[str, dict[str, Any]]:
        return wave_hostvars(self.specs, self.data, self.workdir, names, self.request.context)
