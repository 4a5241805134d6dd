"""inventory diff: the pure diff of two snapshots, and the CLI over a workspace holding real stored snapshots."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from discovery.diff import diff
from discovery.facts import Connection, HostFacts, Listener, Package, Service
from orchestrator.cli import app
from orchestrator.store import Store
from orchestrator.workspace import init_workspace

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _web(version: str, *, nginx_running: bool = True, db_link: bool = True, extra_port: bool = False) -> HostFacts:
    listening = [Listener(port=80, address="0.0.0.0", process="nginx")]
    if extra_port:
        listening.append(Listener(port=9100, address="0.0.0.0", process="node_exporter"))
    links = [Connection(local_address="10.0.0.1", local_port=41000, remote_address="10.0.0.2", remote_port=5432,
                        process="php-fpm", direction="outbound")] if db_link else []
    return HostFacts(name="web", address="10.0.0.1", reachable=True, collected_at=AT,
                     packages=(Package(name="nginx", version=version, arch="amd64", manager="dpkg"),
                               Package(name="curl", version="7.88", arch="amd64", manager="dpkg")),
                     services=(Service(name="nginx", active=nginx_running, enabled=True),),
                     listening=tuple(listening), connections=tuple(links))


def _db(reachable: bool = True) -> HostFacts:
    return HostFacts(name="db", address="10.0.0.2", reachable=reachable, collected_at=AT,
                     listening=(Listener(port=5432, address="0.0.0.0", process="postgres"),) if reachable else ())


def test_no_change_is_empty() -> None:
    assert diff([_web("1.22"), _db()], [_web("1.22"), _db()]).empty


def test_packages_services_ports_and_dependencies() -> None:
    before = [_web("1.22"), _db(), HostFacts(name="old", address="10.0.0.9", reachable=True)]
    after = [_web("1.24", nginx_running=False, db_link=False, extra_port=True), _db(),
             HostFacts(name="new", address="10.0.0.10", reachable=True)]
    found = diff(before, after)
    assert (found.appeared, found.gone) == (("new",), ("old",))
    (web,) = found.hosts
    assert [(c.name, c.before, c.after) for c in web.packages_changed] == [("nginx", "1.22", "1.24")]
    assert web.packages_added == web.packages_removed == ()
    assert [(c.name, c.before, c.after) for c in web.services_changed] == [
        ("nginx", "running, enabled", "stopped, enabled")]
    assert web.ports_opened == ("tcp/9100 node_exporter",) and web.ports_closed == ()
    assert found.dependencies_gone == ("web → db:5432",) and found.dependencies_new == ()
    back = diff(after, before)
    assert back.dependencies_new == ("web → db:5432",) and back.hosts[0].ports_closed == ("tcp/9100 node_exporter",)


def test_unreachable_host_is_reported_not_diffed() -> None:
    found = diff([_web("1.22"), _db()], [_web("1.22"), _db(reachable=False)])
    assert found.now_unreachable == ("db",) and found.hosts == ()


def test_cli_diff_defaults_to_the_two_latest(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    with Store.open(ws.db_path, create=True) as store:
        first = store.save_snapshot([_web("1.20")], source="inv")
        store.save_snapshot([_web("1.22")], source="inv")
        store.save_snapshot([_web("1.24", extra_port=True)], source="inv")
    runner = CliRunner()
    latest = runner.invoke(app, ["-w", str(ws.root), "inventory", "diff", "--json"])
    assert latest.exit_code == 0, latest.output
    data = json.loads(latest.stdout)
    assert (data["snapshot_a"], data["snapshot_b"]) == (first + 1, first + 2)
    assert data["hosts"][0]["packages_changed"] == [{"name": "nginx", "before": "1.22", "after": "1.24"}]
    chosen = runner.invoke(app, ["-w", str(ws.root), "inventory", "diff", str(first), str(first + 1)])
    assert chosen.exit_code == 0 and "1.20 → 1.22" in chosen.stdout
    missing = runner.invoke(app, ["-w", str(ws.root), "inventory", "diff", "99"])
    assert missing.exit_code == 1 and "no snapshot 99" in str(missing.exception)


def test_cli_diff_needs_two_snapshots(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    with Store.open(ws.db_path, create=True) as store:
        store.save_snapshot([_web("1.20")], source="inv")
    result = CliRunner().invoke(app, ["-w", str(ws.root), "inventory", "diff"])
    assert result.exit_code == 1 and "need two discovery snapshots" in str(result.exception)
