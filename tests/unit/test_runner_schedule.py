from __future__ import annotations

import pytest

from orchestrator.errors import RunError
from orchestrator.runner.schedule import (
    FailureBudget,
    Limits,
    Placement,
    admit,
    blocked_by,
    cohorts,
    failed_count,
    over_budget,
)
from orchestrator.runner.states import ServerState

S = ServerState
PLACE = Placement(sites={"a": "jkt", "b": "jkt", "c": "sby", "d": "jkt", "e": "sby"},
                  zones={"a": "z1", "b": "z2", "c": "z1", "d": "z1", "e": "z2"},
                  depends_on={"d": frozenset({"a"}), "e": frozenset({"x"})})


@pytest.mark.parametrize(("text", "size", "allowed"), [("0", 10, 0), ("3", 10, 3), ("10%", 10, 1),
                                                       ("25%", 10, 2), ("12.5%", 8, 1), (" 100 % ", 4, 4)])
def test_failure_budget_counts_and_percentages(text: str, size: int, allowed: int) -> None:
    assert FailureBudget.parse(text).allowed(size) == allowed


@pytest.mark.parametrize("text", ["", "-1", "many", "1.5", "101%", "5%%"])
def test_bad_failure_budget_is_refused_with_a_hint(text: str) -> None:
    with pytest.raises(RunError) as info:
        FailureBudget.parse(text)
    assert "--failure-budget" in str(info.value) and info.value.hint


def test_over_budget_counts_failed_and_rolled_back_but_not_blocked() -> None:
    states = {"a": S.FAILED, "b": S.ROLLED_BACK, "c": S.BLOCKED, "d": S.DONE, "e": S.PENDING}
    assert failed_count(states) == 2
    assert over_budget(Limits(failure_budget=FailureBudget(count=1)), states)
    assert not over_budget(Limits(failure_budget=FailureBudget(count=2)), states)
    assert not over_budget(Limits(), states)
    assert over_budget(Limits(failure_budget=FailureBudget(percent=20.0)), states)  # 2 > floor(5*0.2)=1


def test_admit_respects_every_limit() -> None:
    pending = ["a", "b", "c", "d", "e"]
    assert admit(pending, [], Limits(), PLACE) == pending
    assert admit(pending, [], Limits(max_parallel=2), PLACE) == ["a", "b"]
    assert admit(pending, ["c"], Limits(max_parallel=2), PLACE) == ["a"]
    assert admit(pending, [], Limits(per_site=1), PLACE) == ["a", "c"]
    assert admit(pending, [], Limits(per_zone=1), PLACE) == ["a", "b"]
    assert admit(["b", "d", "e"], ["a"], Limits(per_site=2, per_zone=2), PLACE) == ["b", "e"]


def test_a_dependency_in_flight_holds_its_dependents_back() -> None:
    assert admit(["d", "c"], ["a"], Limits(), PLACE) == ["c"]
    assert admit(["d", "c"], [], Limits(), PLACE, waiting=["a"]) == ["c"]
    assert admit(["a", "d"], [], Limits(), PLACE) == ["a", "d"]  # pending together: they co-migrate


def test_blocked_by_names_the_failed_dependency() -> None:
    assert blocked_by("d", PLACE, {"a": S.ROLLED_BACK}) == "depends on a, which is rolled_back"
    assert blocked_by("d", PLACE, {"a": S.DONE}) is None
    assert blocked_by("e", PLACE, {"x": S.BLOCKED}) == "depends on x, which is blocked"
    assert blocked_by("c", PLACE, {"a": S.FAILED}) is None


def test_cohorts_cover_every_server_once() -> None:
    groups = cohorts(["a", "b", "c", "d", "e"], Limits(max_parallel=2, per_site=1), PLACE)
    assert groups == [["a", "c"], ["b", "e"], ["d"]]


@pytest.mark.parametrize("field", ["max_parallel", "per_site", "per_zone"])
def test_limits_below_one_are_refused(field: str) -> None:
    with pytest.raises(RunError, match=field.replace("_", "-")):
        Limits(**{field: 0})  # type: ignore[arg-type]
