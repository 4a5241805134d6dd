from __future__ import annotations

import itertools

import pytest

from orchestrator.errors import RunError
from orchestrator.runner.states import (
    ALLOWED,
    PHASES,
    TERMINAL,
    IllegalTransition,
    Phase,
    ServerState,
    failure_state,
    is_active,
    next_phase,
    phase_of,
    transition,
)


def test_happy_path_walks_every_phase_in_order() -> None:
    state = ServerState.PENDING
    for phase in PHASES:
        state = transition(state, phase.state)
    assert transition(state, ServerState.DONE) is ServerState.DONE
    assert [p.value for p in PHASES] == ["precheck", "backup", "provision", "replicate", "cutover", "validate",
                                         "finalize"]


def test_approval_pause_sits_between_replicate_and_cutover() -> None:
    state = transition(ServerState.REPLICATING, ServerState.AWAITING_CUTOVER)
    assert transition(state, ServerState.CUTTING_OVER) is ServerState.CUTTING_OVER
    assert transition(ServerState.AWAITING_CUTOVER, ServerState.ROLLING_BACK) is ServerState.ROLLING_BACK


def test_precheck_failure_touches_nothing_so_no_rollback() -> None:
    assert failure_state(Phase.PRECHECK) is ServerState.FAILED
    assert transition(ServerState.PRECHECKING, ServerState.FAILED) is ServerState.FAILED
    with pytest.raises(IllegalTransition):
        transition(ServerState.PRECHECKING, ServerState.ROLLING_BACK)


@pytest.mark.parametrize("phase", [p for p in PHASES if p is not Phase.PRECHECK])
def test_every_phase_after_precheck_fails_into_rollback(phase: Phase) -> None:
    assert failure_state(phase) is ServerState.ROLLING_BACK
    state = transition(phase.state, ServerState.ROLLING_BACK)
    assert transition(state, ServerState.ROLLED_BACK) is ServerState.ROLLED_BACK
    with pytest.raises(IllegalTransition):  # something was touched: never straight to failed
        transition(phase.state, ServerState.FAILED)


def test_a_failed_rollback_is_failed() -> None:
    assert failure_state(Phase.ROLLBACK) is ServerState.FAILED
    assert transition(ServerState.ROLLING_BACK, ServerState.FAILED) is ServerState.FAILED


def test_only_a_server_that_never_started_is_blocked() -> None:
    assert transition(ServerState.PENDING, ServerState.BLOCKED) is ServerState.BLOCKED
    for state in ServerState:
        if state is not ServerState.PENDING:
            assert ServerState.BLOCKED not in ALLOWED[state]


@pytest.mark.parametrize(("old", "new"), [
    (ServerState.PENDING, ServerState.DONE),
    (ServerState.PENDING, ServerState.REPLICATING),
    (ServerState.PENDING, ServerState.FAILED),
    (ServerState.PROVISIONING, ServerState.PRECHECKING),
    (ServerState.PRECHECKING, ServerState.PROVISIONING),
    (ServerState.REPLICATING, ServerState.VALIDATING),
    (ServerState.VALIDATING, ServerState.DONE),
    (ServerState.DONE, ServerState.FAILED),
    (ServerState.DONE, ServerState.ROLLING_BACK),
    (ServerState.FAILED, ServerState.PRECHECKING),
    (ServerState.ROLLED_BACK, ServerState.PENDING),
    (ServerState.BLOCKED, ServerState.PRECHECKING),
    (ServerState.VALIDATING, ServerState.VALIDATING),
    (ServerState.CUTTING_OVER, ServerState.AWAITING_CUTOVER),
])
def test_illegal_transitions_raise(old: ServerState, new: ServerState) -> None:
    with pytest.raises(IllegalTransition) as info:
        transition(old, new)
    assert isinstance(info.value, RunError)
    assert info.value.hint


def test_terminal_states_have_no_way_out_and_everything_else_reaches_one() -> None:
    assert {ServerState.DONE, ServerState.ROLLED_BACK, ServerState.FAILED, ServerState.BLOCKED} == TERMINAL
    for state in TERMINAL:
        assert ALLOWED[state] == frozenset()
    for state in set(ServerState) - TERMINAL:  # breadth-first: some terminal state is reachable
        seen, todo = {state}, [state]
        while todo:
            for nxt in ALLOWED[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert seen & TERMINAL, state


def test_phase_helpers_agree_with_the_table() -> None:
    for phase in Phase:
        assert phase_of(phase.state) is phase and is_active(phase.state)
    assert phase_of(ServerState.AWAITING_CUTOVER) is None and not is_active(ServerState.PENDING)
    assert next_phase(Phase.REPLICATE) is Phase.CUTOVER and next_phase(Phase.FINALIZE) is None
    assert next_phase(Phase.ROLLBACK) is None
    for before, after in itertools.pairwise(PHASES):
        assert after.state in ALLOWED[before.state]


def test_transition_table_covers_the_closed_set() -> None:
    assert set(ALLOWED) == set(ServerState)
    assert {p.playbook for p in Phase} == {"precheck.yml", "backup.yml", "provision.yml", "replicate.yml",
                                           "cutover.yml", "validate.yml", "finalize.yml", "rollback.yml"}
