"""The vars the phase playbooks get: pure, from specs, what earlier phases learned and the plan's wave."""

from __future__ import annotations

from pathlib import Path

from orchestrator.inventory import InventoryHost
from orchestrator.plan import Application, Plan, PlanDependency, PlannedServer, Wave
from orchestrator.runner.hostvars import Peer, WaveContext, phase_data, wave_context, wave_hostvars
from orchestrator.runner.targets import spec_from_host


def spec(name: str, **hostvars: object):  # type: ignore[no-untyped-def]
    host = InventoryHost(name=name, address="10.1.0.5", port=22, user="root", key_file=Path("/keys/id"),
                         known_hosts_file=Path("/kh"), vars={"pindah_services": [{"name": "app", "port": 8080}],
                                                             "pindah_data_dirs": ["/srv/app"], **hostvars})
    return spec_from_host(host)


def plan() -> Plan:
    servers = (PlannedServer(name="web", address="10.1.0.4", application="shop", wave=2, reason="r"),
               PlannedServer(name="app", address="10.1.0.5", application="shop", wave=2, reason="r",
                             flavor="m5.large"),
               PlannedServer(name="db", address="10.1.0.6", application="shop", wave=1, reason="r"),
               PlannedServer(name="ldap", address="10.1.0.7", application="directory", wave=3, reason="r"),
               PlannedServer(name="cache", address="10.1.0.8", application="sessions", wave=3, reason="r"))
    deps = (PlanDependency(source="web", target="app", port=8080, weight=1.0, kind="observed"),
            PlanDependency(source="app", target="db", port=5432, weight=1.0, kind="observed"),
            PlanDependency(source="app", target="ldap", port=389, weight=1.0, kind="observed"),
            PlanDependency(source="app", target="cache", port=6379, weight=1.0, kind="observed"),
            PlanDependency(source="web", target="ldap", port=5432, weight=1.0, kind="observed"),
            PlanDependency(source="cache", target="app", port=8080, weight=1.0, kind="observed"))
    return Plan(id="p", created_at="2026-01-01T00:00:00+00:00", input_digest="sha256:x", max_wave_servers=5,
                waves=(Wave(index=1, servers=("db",), applications=("shop",)),
                       Wave(index=2, servers=("web", "app"), applications=("shop",)),
                       Wave(index=3, servers=("ldap", "cache"), applications=("directory", "sessions"))),
                oversized=(), applications=(Application(name="shop", servers=("web", "app", "db"), wave=1,
                                                        source="inferred", reason="r"),
                                            Application(name="directory", servers=("ldap",), wave=3,
                                                        source="shared", reason="r"),
                                            Application(name="sessions", servers=("cache",), wave=3,
                                                        source="inferred", reason="r")),
                servers=servers, dependencies=deps, cross_wave_weight=0.0)


def test_wave_context_from_the_plan() -> None:
    ctx = wave_context(plan(), 2, done={"db"})
    # hard ports only (5432, 6379; not 8080 or 389), and never a shared service (ldap, even on 5432)
    assert ctx.depends_on == {"app": ("cache", "db")}
    # web moves in this wave too (it will connect from its target): only cache, still at its source, is expected
    assert ctx.dependents == {"app": (Peer("cache", "10.1.0.8", 8080),)}
    assert wave_context(plan(), 2, done={"db", "cache"}).dependents == {}
    assert ctx.ready == {"db", "web", "app"} and ctx.flavors == {"app": "m5.large"}
    assert ctx.tags["web"] == {"pindah:wave": "2", "pindah:application": "shop"}


def test_plan_vars_name_missing_dependencies_flavor_and_dependents(tmp_path: Path) -> None:
    specs = {"app": spec("app", pindah_target_flavor="t3.small", pindah_target_tags={"owner": "it"})}
    hv = wave_hostvars(specs, {}, tmp_path / "runs" / "7", ["app"], wave_context(plan(), 2, done={"db"}))["app"]
    assert hv["pindah_dependencies_missing"] == ["cache"]  # cache moves in wave 3: precheck refuses
    assert hv["pindah_target_flavor"] == "m5.large"  # the plan's sizing wins over the inventory
    assert hv["pindah_target_tags"] == {"owner": "it", "pindah:wave": "2", "pindah:application": "shop"}
    assert hv["pindah_dependents"] == [{"name": "cache", "address": "10.1.0.8", "port": 8080}]
    assert hv["pindah_run"] == "7" and hv["pindah_dns_name"] == "app" and hv["pindah_name_map"] == ""
    ready = wave_hostvars(specs, {}, tmp_path, ["app"], wave_context(plan(), 2, done={"db", "cache"}))["app"]
    assert ready["pindah_dependencies_missing"] == []


def test_without_a_context_nothing_is_required(tmp_path: Path) -> None:
    hv = wave_hostvars({"app": spec("app")}, {}, tmp_path, ["app"])["app"]
    assert hv["pindah_dependencies_missing"] == [] and hv["pindah_dependents"] == []
    assert hv["pindah_target_flavor"] == "" and hv["pindah_recorded_backup"] == {"prefix": "", "digest": ""}


def test_phase_outputs_flow_into_later_phases(tmp_path: Path) -> None:
    data: dict[str, dict[str, object]] = {"app": {}}
    data["app"].update(phase_data("precheck", {"answers": {"app": "ab12"}}))
    data["app"].update(phase_data("backup", {"prefix": "pindah-backups/p/app/7", "digest": "d1", "verified": True}))
    data["app"].update(phase_data("provision", {"instance_id": "i-1", "address": "10.2.0.9", "created": "True"}))
    data["app"].update(phase_data("cutover", {"source_digest": "d1", "already_done": False}))
    hosts = wave_hostvars({"app": spec("app")}, data, tmp_path, ["app"], WaveContext())
    hv = hosts["app"]
    assert hv["pindah_expected_digests"] == ["ab12"]
    assert hv["pindah_recorded_backup"] == {"prefix": "pindah-backups/p/app/7", "digest": "d1"}
    assert hv["pindah_cutover_source_digest"] == "d1" and hv["pindah_instance_id"] == "i-1"
    assert hv["pindah_target_urls"] == ["http://10.2.0.9:8080/"]
    assert hosts["app__target"]["ansible_host"] == "10.2.0.9"
    assert data["app"]["target"] == {"instance_id": "i-1", "address": "10.2.0.9", "created": True}
