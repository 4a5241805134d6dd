"""Streamed discovery over a fake connector: each host stored as it finishes, the snapshot marked complete
at the end, an interrupted one kept but ignored, probes held back by a slow caller, and the --json document
written piece by piece."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pytest
import yaml

from discovery import dependencies
from discovery.collect import probe_each
from discovery.errors import AuthFailed
from discovery.transport import KnownHostsFile, SshOptions, SshTarget, Transport
from orchestrator.cli.common import print_json, print_json_stream
from orchestrator.discover import HostSummary, discover, plan_targets
from orchestrator.store import Store
from orchestrator.workspace import Workspace, init_workspace
from tests.unit.test_probe_collect import FakeTransport, Gauge, _targets

NAMES = [f"h{i:02d}" for i in (5, 1, 9, 3, 7, 2, 8)]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "ws")
    hosts = {n: {"ansible_host": f"10.0.0.{i}"} for i, n in enumerate(NAMES, 1)}
    (ws.inventory_dir / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}, sort_keys=False))
    return ws


def connector(target: SshTarget, options: SshOptions, known: KnownHostsFile) -> Transport:
    if target.name == "h03":
        raise AuthFailed("denied", host=target.name)
    return FakeTransport(Gauge())


def test_hosts_are_stored_and_the_result_keeps_summaries(ws: Workspace) -> None:
    seen: list[str] = []
    result = discover(ws, ws.inventory_dir / "hosts.yml", forks=3, connector=connector,
                      progress_callback=lambda f: seen.append(f.name))
    assert sorted(seen) == sorted(NAMES)
    order = [t.name for t, _ in plan_targets(ws, ws.inventory_dir / "hosts.yml", None, None)]
    assert [h.name for h in result.hosts] == order and sorted(order) == sorted(NAMES)
    assert all(isinstance(h, HostSummary) for h in result.hosts)
    assert [h.name for h in result.failed] == ["h03"] and result.failed[0].errors[0].category == "auth"
    with Store.open(ws.db_path) as store:
        snapshot = store.latest_snapshot()
        assert snapshot is not None and snapshot.id == result.snapshot_id and snapshot.complete
        assert (snapshot.host_count, snapshot.failed_count) == (len(NAMES), 1)
        stored = {f.name: f for f in store.snapshot_facts(result.snapshot_id)}
    full = list(result.iter_facts())
    assert [f.name for f in full] == order and list(result.facts) == full
    assert all(f == stored[f.name] for f in full)
    assert full[0].packages and full[0].services  # the heavy facts are in the store, not in the summary
    assert not hasattr(result.hosts[0], "packages")
    assert result.dependencies == dependencies.build(full)


def test_an_interrupted_discovery_leaves_an_incomplete_snapshot_that_readers_ignore(ws: Workspace) -> None:
    first = discover(ws, ws.inventory_dir / "hosts.yml", forks=2, connector=connector)
    done: list[str] = []

    def crash(facts: object) -> None:
        done.append("x")
        if len(done) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        discover(ws, ws.inventory_dir / "hosts.yml", forks=2, connector=connector, progress_callback=crash)
    with Store.open(ws.db_path) as store:
        assert [s.id for s in store.snapshots()] == [first.snapshot_id]
        assert store.latest_snapshot() is not None and store.latest_snapshot().id == first.snapshot_id  # type: ignore[union-attr]
        every = store.snapshots(incomplete=True)
        assert [(s.id, s.complete) for s in every] == [(first.snapshot_id, True), (first.snapshot_id + 1, False)]
        assert [f.name for f in store.latest_facts()] == sorted(NAMES)
        assert store.snapshot_facts(first.snapshot_id) == sorted(first.facts, key=lambda f: f.name)
    again = discover(ws, ws.inventory_dir / "hosts.yml", forks=2, connector=connector)
    with Store.open(ws.db_path) as store:
        assert [s.id for s in store.snapshots()] == [first.snapshot_id, again.snapshot_id]


def _captured(write: object, *args: object) -> str:
    out, saved = io.StringIO(), sys.stdout
    sys.stdout = out
    try:
        write(*args)  # type: ignore[operator]
    finally:
        sys.stdout = saved
    return out.getvalue()


@pytest.mark.parametrize("hosts", [[], [{"name": "a"}], [{"name": "é\nb", "list": [], "obj": {}, "n": None},
                                                           {"nested": {"deep": [1, [2, {"x": "y"}]]}}]])
def test_streamed_json_is_byte_for_byte_the_whole_document(hosts: list[dict[str, object]]) -> None:
    document = {"snapshot_id": 3, "hosts": hosts, "failed": [{"name": "a", "hint": None}], "dependencies": [],
                "external_endpoints": [{"at": Path("x")}]}
    streamed = _captured(print_json_stream, [(k, iter(v) if k == "hosts" else v) for k, v in document.items()])
    assert streamed == _captured(print_json, document)
    json.loads(streamed)


def test_a_slow_caller_holds_the_probes_back(tmp_path: Path) -> None:
    started: list[str] = []

    def counting(target: SshTarget, options: SshOptions, known: KnownHostsFile) -> Transport:
        started.append(target.name)
        return FakeTransport(Gauge())

    taken, ahead = 0, 0
    for _ in probe_each(_targets(20, tmp_path), SshOptions(), forks=2, connector=counting):
        taken += 1
        time.sleep(0.1)  # a caller slower than the probes: without a bound every host would be probed by now
        ahead = max(ahead, len(started) - taken)
    assert taken == len(started) == 20
    assert ahead <= 3  # at most 2 * forks started and not taken, this one taken
