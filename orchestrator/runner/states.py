"""The per-server migration state machine: one closed set of states, transitions decided in one place."""

from __future__ import annotations

from enum import StrEnum

from orchestrator.errors import RunError


class ServerState(StrEnum):
    PENDING = "pending"
    PRECHECKING = "prechecking"
    PROVISIONING = "provisioning"
    REPLICATING = "replicating"
    CUTTING_OVER = "cutting_over"
    VALIDATING = "validating"
    DONE = "done"
    FAILED = "failed"


class Phase(StrEnum):
    PRECHECK = "precheck"
    PROVISION = "provision"
    REPLICATE = "replicate"
    CUTOVER = "cutover"
    VALIDATE = "validate"

    @property
    def playbook(self) -> str:
        return f"{self.value}.yml"

    @property
    def state(self) -> ServerState:
        return PHASE_STATES[self]


PHASES: tuple[Phase, ...] = tuple(Phase)

PHASE_STATES: dict[Phase, ServerState] = {
    Phase.PRECHECK: ServerState.PRECHECKING,
    Phase.PROVISION: ServerState.PROVISIONING,
    Phase.REPLICATE: ServerState.REPLICATING,
    Phase.CUTOVER: ServerState.CUTTING_OVER,
    Phase.VALIDATE: ServerState.VALIDATING,
}

_ACTIVE = tuple(PHASE_STATES.values())

ALLOWED: dict[ServerState, frozenset[ServerState]] = {
    ServerState.PENDING: frozenset({ServerState.PRECHECKING, ServerState.FAILED}),
    ServerState.PRECHECKING: frozenset({ServerState.PROVISIONING, ServerState.FAILED}),
    ServerState.PROVISIONING: frozenset({ServerState.REPLICATING, ServerState.FAILED}),
    ServerState.REPLICATING: frozenset({ServerState.CUTTING_OVER, ServerState.FAILED}),
    ServerState.CUTTING_OVER: frozenset({ServerState.VALIDATING, ServerState.FAILED}),
    ServerState.VALIDATING: frozenset({ServerState.DONE, ServerState.FAILED}),
    ServerState.DONE: frozenset(),
    ServerState.FAILED: frozenset(),
}

TERMINAL: frozenset[ServerState] = frozenset({ServerState.DONE, ServerState.FAILED})


class IllegalTransition(RunError):
    """The engine asked for a state change the state machine does not allow (a bug, not a host failure)."""


def transition(current: ServerState, new: ServerState) -> ServerState:
    """Return ``new`` if ``current -> new`` is allowed; raise :class:`IllegalTransition` otherwise."""
    if new not in ALLOWED[current]:
        raise IllegalTransition(f"illegal server state transition {current} -> {new}",
                                hint="this is a bug in pindah; please report it with 'pindah logs SERVER'")
    return new


def is_active(state: ServerState) -> bool:
    return state in _ACTIVE


class RunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
