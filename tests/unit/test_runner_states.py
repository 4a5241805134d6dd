from __future__ import annotations

import pytest

from orchestrator.errors import RunError
from orchestrator.runner.states import ALLOWED, PHASES, IllegalTransition, Phase, ServerState, transition


def test_happy_path_walks_every_phase_in_order() -> None:
    state = ServerState.PENDING
    for phase in PHASES:
        state = transition(state, phase.state)
    assert transition(state, ServerState.DONE) is ServerState.DONE
    assert [p.value for p in PHASES] == ["precheck", "provision", "replicate", "cutover", "validate"]


@pytest.mark.parametrize("state", [s for s in ServerState if s not in (ServerState.DONE, ServerState.FAILED)])
def test_every_non_terminal_state_may_fail(state: ServerState) -> None:
    assert transition(state, ServerState.FAILED) is ServerState.FAILED


@pytest.mark.parametrize(("old", "new"), [
    (ServerState.PENDING, ServerState.DONE),
    (ServerState.PENDING, ServerState.REPLICATING),
    (ServerState.PROVISIONING, ServerState.PRECHECKING),
    (ServerState.DONE, ServerState.FAILED),
    (ServerState.FAILED, ServerState.PRECHECKING),
    (ServerState.VALIDATING, ServerState.VALIDATING),
])
def test_illegal_transitions_raise(old: ServerState, new: ServerState) -> None:
    with pytest.raises(IllegalTransition) as info:
        transition(old, new)
    assert isinstance(info.value, RunError)
    assert info.value.hint


def test_transition_table_covers_the_closed_set() -> None:
    assert set(ALLOWED) == set(ServerState)
    assert {p.playbook for p in Phase} == {"precheck.yml", "provision.yml", "replicate.yml", "cutover.yml",
                                           "validate.yml"}
