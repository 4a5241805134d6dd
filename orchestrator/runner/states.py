"""The per-server migration state machine: one closed set of states, transitions decided in one place.

A server walks the phases in order (precheck → backup → provision → replicate → cutover → validate →
finalize). A failure in precheck touches nothing: the server is ``failed``. A failure in any later phase
(something may have touched the source or the target) goes through ``rolling_back`` (rollback.yml) to
``rolled_back``, or to ``failed`` when the rollback itself fails. A server whose dependency failed never
starts: ``blocked``. With an approval pause, a replicated server rests in ``awaiting_cutover``.

Re-running an interrupted phase (resume) or retrying a transient failure re-enters the same state: that
is not a transition, the engine records it as an event.
"""

from __future__ import annotations

from enum import StrEnum

from orchestrator.errors import RunError


class ServerState(StrEnum):
    PENDING = "pending"
    PRECHECKING = "prechecking"
    BACKING_UP = "backing_up"
    PROVISIONING = "provisioning"
    REPLICATING = "replicating"
    AWAITING_CUTOVER = "awaiting_cutover"
    CUTTING_OVER = "cutting_over"
    VALIDATING = "validating"
    FINALIZING = "finalizing"
    ROLLING_BACK = "rolling_back"
    DONE = "done"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"
    BLOCKED = "blocked"


class Phase(StrEnum):
    PRECHECK = "precheck"
    BACKUP = "backup"
    PROVISION = "provision"
    REPLICATE = "replicate"
    CUTOVER = "cutover"
    VALIDATE = "validate"
    FINALIZE = "finalize"
    ROLLBACK = "rollback"

    @property
    def playbook(self) -> str:
        return f"{self.value}.yml"

    @property
    def state(self) -> ServerState:
        return PHASE_STATES[self]


# The forward phases, in order; rollback is not one of them (it is reached from a failure).
PHASES: tuple[Phase, ...] = (Phase.PRECHECK, Phase.BACKUP, Phase.PROVISION, Phase.REPLICATE, Phase.CUTOVER,
                             Phase.VALIDATE, Phase.FINALIZE)

PHASE_STATES: dict[Phase, ServerState] = {
    Phase.PRECHECK: ServerState.PRECHECKING,
    Phase.BACKUP: ServerState.BACKING_UP,
    Phase.PROVISION: ServerState.PROVISIONING,
    Phase.REPLICATE: ServerState.REPLICATING,
    Phase.CUTOVER: ServerState.CUTTING_OVER,
    Phase.VALIDATE: ServerState.VALIDATING,
    Phase.FINALIZE: ServerState.FINALIZING,
    Phase.ROLLBACK: ServerState.ROLLING_BACK,
}

_S = ServerState
ALLOWED: dict[ServerState, frozenset[ServerState]] = {
    _S.PENDING: frozenset({_S.PRECHECKING, _S.BLOCKED}),
    _S.PRECHECKING: frozenset({_S.BACKING_UP, _S.FAILED}),
    _S.BACKING_UP: frozenset({_S.PROVISIONING, _S.ROLLING_BACK}),
    _S.PROVISIONING: frozenset({_S.REPLICATING, _S.ROLLING_BACK}),
    _S.REPLICATING: frozenset({_S.AWAITING_CUTOVER, _S.CUTTING_OVER, _S.ROLLING_BACK}),
    _S.AWAITING_CUTOVER: frozenset({_S.CUTTING_OVER, _S.ROLLING_BACK}),
    _S.CUTTING_OVER: frozenset({_S.VALIDATING, _S.ROLLING_BACK}),
    _S.VALIDATING: frozenset({_S.FINALIZING, _S.ROLLING_BACK}),
    _S.FINALIZING: frozenset({_S.DONE, _S.ROLLING_BACK}),
    _S.ROLLING_BACK: frozenset({_S.ROLLED_BACK, _S.FAILED}),
    _S.DONE: frozenset(),
    _S.ROLLED_BACK: frozenset(),
    _S.FAILED: frozenset(),
    _S.BLOCKED: frozenset(),
}

TERMINAL: frozenset[ServerState] = frozenset({_S.DONE, _S.ROLLED_BACK, _S.FAILED, _S.BLOCKED})
# Did not reach its target: counts against a wave's failure budget and blocks its dependents.
UNSUCCESSFUL: frozenset[ServerState] = frozenset({_S.ROLLED_BACK, _S.FAILED, _S.BLOCKED})
# Resting, not terminal: waits for `pindah run --resume --approve-cutover`.
PAUSED: frozenset[ServerState] = frozenset({_S.AWAITING_CUTOVER})
_ACTIVE = frozenset(PHASE_STATES.values())
_BY_STATE: dict[ServerState, Phase] = {state: phase for phase, state in PHASE_STATES.items()}


class IllegalTransition(RunError):
    """The engine asked for a state change the state machine does not allow (a bug, not a host failure)."""


def transition(current: ServerState, new: ServerState) -> ServerState:
    """Return ``new`` if ``current -> new`` is allowed; raise :class:`IllegalTransition` otherwise."""
    if new not in ALLOWED[current]:
        raise IllegalTransition(f"illegal server state transition {current} -> {new}",
                                hint="this is a bug in pindah; please report it with 'pindah logs SERVER'")
    return new


def failure_state(phase: Phase) -> ServerState:
    """Where a failure in ``phase`` leads: ``failed`` before anything was touched, ``rolling_back`` after."""
    if phase is Phase.PRECHECK:
        return ServerState.FAILED
    if phase is Phase.ROLLBACK:
        return ServerState.FAILED
    return ServerState.ROLLING_BACK


def is_active(state: ServerState) -> bool:
    """A phase is (or was, when the run was killed) running for a server in this state."""
    return state in _ACTIVE


def phase_of(state: ServerState) -> Phase | None:
    """The phase a server in ``state`` is running, if any."""
    return _BY_STATE.get(state)


def next_phase(phase: Phase) -> Phase | None:
    """The forward phase after ``phase`` (None after finalize, and for rollback)."""
    if phase is Phase.ROLLBACK:
        return None
    index = PHASES.index(phase)
    return PHASES[index + 1] if index + 1 < len(PHASES) else None


class RunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    PAUSED = "paused"  # some servers await cutover approval
    HALTED = "halted"  # the failure budget stopped new servers from starting; pending ones remain
    INTERRUPTED = "interrupted"  # stopped by a signal or a crash; resumable
