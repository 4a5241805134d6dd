"""Planner inputs: merging discovered and imported servers, observed edges, the input digest."""

from __future__ import annotations

import pytest

from discovery.facts import Connection, CpuInfo, Disk, HostFacts, OsInfo
from orchestrator.errors import PlanError
from orchestrator.planner import build_inputs, build_plan, make_inputs


def _out(remote: str, port: int) -> Connection:
    return Connection(local_address="x", local_port=40000, remote_address=remote, remote_port=port,
                      direction="outbound")


def _facts() -> list[HostFacts]:
    web = HostFacts(name="web", address="10.0.0.1", reachable=True,
                    os=OsInfo(id="debian", version_id="12", name="Debian GNU/Linux", family="debian",
                              pretty_name="Debian GNU/Linux 12 (bookworm)"),
                    cpu=CpuInfo(count=2), memory_mb=2048, disks=(Disk(name="sda", size_gb=20.5),
                                                                  Disk(name="sdb", size_gb=9.5)),
                    connections=(_out("10.0.0.2", 5432), _out("10.0.0.2", 5432), _out("10.0.0.2", 6379),
                                 _out("8.8.8.8", 53),
                                 Connection(local_address="10.0.0.1", local_port=443, remote_address="10.0.0.2",
                                            remote_port=50000, direction="inbound")))
    db = HostFacts(name="db", address="10.0.0.2", reachable=True, connections=(_out("10.0.0.2", 5432),))
    down = HostFacts(name="down", address="10.0.0.9", reachable=False)
    return [web, db, down]


def test_observed_edges_count_outbound_connections_to_known_servers() -> None:
    inputs = build_inputs(_facts(), {}, [])
    edges = [(e.source, e.target, e.port, e.weight, e.kind) for e in inputs.edges]
    assert edges == [("web", "db", 5432, 2.0, "observed"), ("web", "db", 6379, 1.0, "observed")]
    assert [(x.source, x.address, x.port, x.count) for x in inputs.external] == [("web", "8.8.8.8", 53, 1)]


def test_imported_and_discovered_servers_merge() -> None:
    imported = {"web": {"application": "shop", "os": "old value", "disk_gb": 1.0, "site": "jkt"},
                "legacy": {"address": "10.0.0.5", "application": "shop"}}
    inputs = build_inputs(_facts(), imported, [("legacy", "web", 80, 3.0), ("ghost", "web", 80, 1.0)])
    by_name = {s.name: s for s in inputs.servers}
    assert sorted(by_name) == ["db", "down", "legacy", "web"]
    web = by_name["web"]
    assert (web.application, web.site, web.os, web.cpu_count, web.disk_gb) == (
        "shop", "jkt", "Debian GNU/Linux 12 (bookworm)", 2, 30.0)
    assert web.discovered and web.imported and web.reachable
    assert by_name["legacy"].reachable is None and not by_name["legacy"].discovered
    assert by_name["down"].reachable is False
    declared = [e for e in inputs.edges if e.kind == "declared"]
    assert [(e.source, e.target) for e in declared] == [("legacy", "web")]


def test_digest_is_stable_and_sensitive() -> None:
    first = build_inputs(_facts(), {"web": {"application": "shop"}}, [])
    again = build_inputs(list(reversed(_facts())), {"web": {"application": "shop"}}, [])
    other = build_inputs(_facts(), {"web": {"application": "store"}}, [])
    assert first.digest() == again.digest()
    assert first.digest() != other.digest()
    assert first.digest().startswith("sha256:") and len(first.digest()) == 7 + 64


def test_plan_rejects_empty_inputs_and_bad_limits() -> None:
    with pytest.raises(PlanError):
        build_plan(make_inputs([], []), plan_id="p", max_wave_servers=5, created_at="t")
    inputs = build_inputs(_facts(), {}, [])
    with pytest.raises(PlanError):
        build_plan(inputs, plan_id="p", max_wave_servers=0, created_at="t")
    with pytest.raises(PlanError):
        build_plan(inputs, plan_id="../etc", max_wave_servers=5, created_at="t")


def test_unreachable_server_is_still_planned_with_its_origin() -> None:
    plan = build_plan(build_inputs(_facts(), {}, []), plan_id="p", max_wave_servers=5, created_at="t")
    assert plan.server("down").wave >= 1
    assert "unreachable at last discovery" in plan.server("down").reason
    assert plan.server("web").application == plan.server("db").application
