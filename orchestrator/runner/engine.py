"""The wave engine: every server of a wave through the phases, each transition persisted first.

Each phase runs once for all still-healthy servers (Ansible's forks give the parallelism). A server
that fails (task failure or unreachable) is marked failed with its error and drops out; the others go on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from orchestrator.runner.events import redact, secret_env_values
from orchestrator.runner.hostvars import wave_extravars, wave_hostvars
from orchestrator.runner.playbook import HostOutcome, PhaseRequest, PhaseResult, PlaybookRunner
from orchestrator.runner.states import (
    PHASES,
    TERMINAL,
    UNSUCCESSFUL,
    Phase,
    RunStatus,
    ServerState,
    failure_state,
    transition,
)
from orchestrator.runner.targets import MigrationSpec
from orchestrator.store import Store


class WaveObserver(Protocol):
    def server_changed(self, server: str, state: ServerState, phase: Phase | None, error: str | None) -> None:
        ...


@dataclass(frozen=True)
class WaveRequest:
    plan_id: str
    wave: int
    specs: tuple[MigrationSpec, ...]
    cloud: Mapping[str, Any]  # non-secret settings handed to the playbooks
    runs_dir: Path
    forks: int = 10
    env: Mapping[str, str] = field(default_factory=dict)  # secrets for the playbooks (credentials)
    phases: frozenset[Phase] = frozenset(Phase)  # the phases whose playbook exists; others are skipped


@dataclass(frozen=True)
class WaveResult:
    run_id: int
    states: Mapping[str, ServerState]
    errors: Mapping[str, str]

    @property
    def failed(self) -> list[str]:
        return sorted(s for s, st in self.states.items() if st in UNSUCCESSFUL)

    @property
    def status(self) -> RunStatus:
        return RunStatus.FAILED if self.failed else RunStatus.DONE


class WaveEngine:
    def __init__(self, store: Store, runner: PlaybookRunner, observer: WaveObserver | None = None) -> None:
        self.store = store
        self.runner = runner
        self.observer = observer

    def run(self, request: WaveRequest) -> WaveResult:
        names = [s.name for s in request.specs]
        run_id = self.store.create_run(request.plan_id, request.wave, names, ServerState.PENDING)
        wave = _WaveState(run_id, request, {n: ServerState.PENDING for n in names})
        for name in names:
            self._notify(name, ServerState.PENDING, None, None)
        try:
            self._phases(wave)
        except BaseException as exc:  # interrupted (Ctrl-C) or broken: states stay as stored, resumable
            self.store.add_event(run_id, None, wave.phase, "interrupted", {"reason": type(exc).__name__})
            self.store.finish_run(run_id, RunStatus.INTERRUPTED)
            raise
        outcome = WaveResult(run_id, dict(wave.states), dict(wave.errors))
        self.store.finish_run(run_id, outcome.status)
        return outcome

    def _phases(self, wave: _WaveState) -> None:
        for phase in PHASES:
            active = wave.active()
            if not active:
                break
            wave.phase = phase
            for name in active:
                self._move(wave, name, phase.state, phase)
            if phase not in wave.request.phases:
                for name in active:
                    self.store.add_event(wave.run_id, name, phase, "phase_skipped",
                                         {"reason": f"no playbook {phase.playbook} in this installation"})
                continue
            result = self._run_phase(wave, phase, active)
            for name in active:
                self._settle(wave, name, phase, result.outcomes.get(name))
            self._roll_back(wave)
        for name in wave.active():
            self._move(wave, name, ServerState.DONE, Phase.FINALIZE)

    def _roll_back(self, wave: _WaveState) -> None:
        """Run rollback.yml for the servers that just failed after something was touched."""
        failing = [n for n, st in wave.states.items() if st is ServerState.ROLLING_BACK]
        if not failing:
            return
        wave.phase = Phase.ROLLBACK
        if Phase.ROLLBACK not in wave.request.phases:
            for name in failing:
                self._move(wave, name, ServerState.FAILED, Phase.ROLLBACK,
                           f"{wave.errors.get(name)}; rollback not run: no playbook rollback.yml")
            return
        result = self._run_phase(wave, Phase.ROLLBACK, failing)
        for name in failing:
            outcome = result.outcomes.get(name) or HostOutcome(ok=False, error="no result from rollback")
            original = wave.errors.get(name)
            wave.data[name]["rollback"] = {"ok": outcome.ok, "error": outcome.error}
            if outcome.ok:
                self._move(wave, name, ServerState.ROLLED_BACK, Phase.ROLLBACK, original)
            else:
                self._move(wave, name, ServerState.FAILED, Phase.ROLLBACK,
                           f"{original}; rollback failed: {outcome.error}")

    def _run_phase(self, wave: _WaveState, phase: Phase, active: Sequence[str]) -> PhaseResult:
        secrets = secret_env_values(wave.request.env)

        def sink(server: str | None, record: dict[str, Any]) -> None:
            self.store.add_event(wave.run_id, server, phase, str(record.get("event", "ansible")),
                                 redact(record, secrets))

        request = PhaseRequest(phase=phase, servers=tuple(active), hostvars=wave.hostvars(active),
                               extravars=wave.extravars(), workdir=wave.workdir, forks=wave.request.forks,
                               env=wave.request.env)
        try:
            return self.runner.run_phase(request, sink)
        except Exception as exc:  # the runner itself broke: every active server fails, with the reason
            message = str(redact(f"{type(exc).__name__}: {exc}", secrets))
            return PhaseResult({name: HostOutcome(ok=False, error=f"runner error: {message}") for name in active})

    def _settle(self, wave: _WaveState, name: str, phase: Phase, outcome: HostOutcome | None) -> None:
        if outcome is None:
            outcome = HostOutcome(ok=False, error="the playbook runner returned no result for this server")
        if not outcome.ok:
            self._move(wave, name, failure_state(phase), phase, outcome.error or "failed")
            return
        wave.absorb(name, phase, outcome.outputs)
        self.store.set_server_state(wave.run_id, name, state=wave.states[name], phase=phase,
                                    data=wave.data[name])

    def _move(self, wave: _WaveState, name: str, new: ServerState, phase: Phase,
              error: str | None = None) -> None:
        old = wave.states[name]
        wave.states[name] = transition(old, new)
        if error is not None:
            wave.errors[name] = error
        self.store.set_server_state(wave.run_id, name, state=new, phase=phase, error=error,
                                    data=wave.data[name])
        self.store.add_event(wave.run_id, name, phase, "state",
                             {"from": old.value, "to": new.value, "error": error})
        self._notify(name, new, phase, error)

    def _notify(self, name: str, state: ServerState, phase: Phase | None, error: str | None) -> None:
        if self.observer is not None:
            self.observer.server_changed(name, state, phase, error)


class _WaveState:
    """Mutable bookkeeping of one run: states, errors and what each phase learned per server."""

    def __init__(self, run_id: int, request: WaveRequest, states: dict[str, ServerState]) -> None:
        self.run_id = run_id
        self.request = request
        self.states = states
        self.errors: dict[str, str] = {}
        self.specs = {s.name: s for s in request.specs}
        self.data: dict[str, dict[str, Any]] = {s.name: {} for s in request.specs}
        self.workdir = request.runs_dir / str(run_id)
        self.phase: Phase | None = None

    def active(self) -> list[str]:
        return [n for n, st in self.states.items() if st not in TERMINAL and st is not ServerState.ROLLING_BACK]

    def absorb(self, name: str, phase: Phase, outputs: Mapping[str, Any]) -> None:
        if phase is Phase.PRECHECK:
            self.data[name]["source_answers"] = dict(outputs.get("answers") or {})
        elif phase is Phase.PROVISION:
            self.data[name]["target"] = {"instance_id": outputs.get("instance_id"),
                                         "address": outputs.get("address"),
                                         "created": outputs.get("created") in (True, "True", "true")}

    def extravars(self) -> dict[str, Any]:
        return wave_extravars(self.request.plan_id, self.request.wave, self.request.cloud)

    def hostvars(self, active: Sequence[str]) -> dict[str, dict[str, Any]]:
        return wave_hostvars(self.specs, self.data, self.workdir, active)
