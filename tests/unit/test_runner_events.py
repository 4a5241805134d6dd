from __future__ import annotations

from typing import Any

from orchestrator.runner.events import MASK, compact, redact
from orchestrator.runner.playbook import HostOutcome, _Collector

SECRET = "wJalrXUtnFEMI-K7MDENG"


def test_redact_masks_secret_keys_and_values_everywhere() -> None:
    data = {"env": {"AWS_SECRET_ACCESS_KEY": "x", "db_password": "y", "api_token": "z", "user": "root"},
            "msg": f"auth with {SECRET} failed", "list": [SECRET, 3, None]}
    out = redact(data, [SECRET, ""])
    assert out["env"] == {"AWS_SECRET_ACCESS_KEY": MASK, "db_password": MASK, "api_token": MASK, "user": "root"}
    assert out["msg"] == f"auth with {MASK} failed"
    assert out["list"] == [MASK, 3, None]
    assert SECRET not in repr(out)


def event(kind: str, host: str | None, res: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"host": host, "task": "Do it", "res": res or {}, **extra}
    return {"event": kind, "event_data": data, "stdout": f"{kind} {host}"}


def test_compact_keeps_only_useful_fields() -> None:
    raw = event("runner_on_failed", "web1", {"msg": "non-zero return code", "rc": 2, "stderr": "boom",
                                              "invocation": {"module_args": {"argv": ["x"]}}})
    rec = compact(raw)
    assert rec == {"event": "runner_on_failed", "host": "web1", "task": "Do it", "status": "failed",
                   "msg": "non-zero return code; stderr: boom; rc=2"}
    assert compact({"event": "playbook_on_task_start", "event_data": {}}) is None
    assert compact(event("runner_on_ok", "web1", {"changed": True}))["status"] == "changed"  # type: ignore[index]


def collect(events: list[dict[str, Any]]) -> tuple[_Collector, list[tuple[str | None, dict[str, Any]]]]:
    sunk: list[tuple[str | None, dict[str, Any]]] = []
    collector = _Collector((SECRET,), lambda server, rec: sunk.append((server, rec)))
    for ev in events:
        assert collector(ev) is False  # nothing is written to disk by ansible-runner
    return collector, sunk


def test_collector_maps_targets_to_servers_and_reads_outputs() -> None:
    collector, sunk = collect([
        event("runner_on_ok", "a", {"ansible_facts": {"pindah_out_answers": {"app": "d"}, "other": 1}}),
        event("runner_on_unreachable", "b__target", {"msg": f"ssh failed key={SECRET}", "unreachable": True}),
        event("runner_item_on_failed", "c", {"msg": "item broke"}),
        event("runner_on_failed", "c", {"msg": "One or more items failed"}),
        event("runner_on_failed", "d", {"msg": "ignored"}, ignore_errors=True),
        {"event": "playbook_on_stats", "event_data": {"ok": {"a": 3, "d": 1}, "failures": {"c": 1},
                                                      "dark": {"b__target": 1}}},
    ])
    assert collector.outcome("a", 2) == HostOutcome(ok=True, outputs={"answers": {"app": "d"}})
    b = collector.outcome("b", 2)
    assert not b.ok and SECRET not in (b.error or "") and "ssh failed" in (b.error or "")
    assert collector.outcome("c", 2).error == "Do it: item broke"
    assert collector.outcome("d", 2).ok
    assert not collector.outcome("e", 2).ok  # never seen: not a success
    assert [s for s, _ in sunk] == ["a", "b", "c", "c", "d", None]
    assert SECRET not in repr(sunk)


def test_collector_without_stats_fails_everyone_with_output_tail() -> None:
    collector, _ = collect([{"event": "verbose", "event_data": {}, "stdout": "ERROR! playbook syntax"}])
    outcome = collector.outcome("a", 4)
    assert not outcome.ok and "rc=4" in (outcome.error or "") and "syntax" in (outcome.error or "")
