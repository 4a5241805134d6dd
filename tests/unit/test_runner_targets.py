from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from orchestrator.errors import InputError, RunError
from orchestrator.inventory import InventoryHost
from orchestrator.runner.targets import connection_vars, rsync_shell, spec_from_host, specs_for_servers


def host(name: str = "web1", **hostvars: object) -> InventoryHost:
    return InventoryHost(name=name, address="10.1.0.5", port=2222, user="admin", key_file=Path("/keys/id"),
                         known_hosts_file=Path("/kh/known hosts"), vars=hostvars)


def test_spec_from_inventory_vars() -> None:
    spec = spec_from_host(host(pindah_services=[{"name": "nginx", "port": 80}],
                               pindah_data_dirs=["/srv/www/", "/var/lib/app"], pindah_target_user="root"))
    assert [s.name for s in spec.services] == ["nginx"]
    assert spec.data_dirs == ("/srv/www", "/var/lib/app")
    assert spec.source.port == 2222 and spec.target_user == "root" and spec.target_port == 22
    assert spec.target_key_file == "/keys/id" and spec.target_known_hosts_file == "/kh/known hosts"


@pytest.mark.parametrize("hostvars", [
    {"pindah_services": [{"name": "../../bin/sh", "port": 80}]},
    {"pindah_services": [{"name": "x; rm -rf /", "port": 80}]},
    {"pindah_services": [{"name": "ok", "port": 70000}]},
    {"pindah_data_dirs": ["relative/dir"]},
    {"pindah_data_dirs": ["/srv/../etc"]},
    {"pindah_data_dirs": ["/"]},
])
def test_unsafe_host_vars_are_refused(hostvars: dict[str, object]) -> None:
    with pytest.raises(InputError):
        spec_from_host(host(**hostvars))


def test_missing_wave_server_is_a_run_error() -> None:
    with pytest.raises(RunError, match="not in inventory"):
        specs_for_servers([host("a", pindah_data_dirs=["/srv/a"])], ["a", "b"], source="inv.yml")


def test_ssh_always_checks_host_keys_and_quotes_paths() -> None:
    spec = spec_from_host(host())
    hv = connection_vars(spec.source, spec.python_interpreter)
    args = shlex.split(hv["ansible_ssh_common_args"])
    assert "StrictHostKeyChecking=yes" in args and "UserKnownHostsFile=/kh/known hosts" in args
    shell = shlex.split(rsync_shell(spec.source.key_file, spec.source.known_hosts_file, 2222))
    assert shell[:3] == ["ssh", "-p", "2222"] and "UserKnownHostsFile=/kh/known hosts" in shell
    assert "StrictHostKeyChecking=yes" in shell and shell[-2:] == ["-i", "/keys/id"]


def test_a_server_with_nothing_to_move_is_refused_with_a_hint() -> None:
    with pytest.raises(RunError, match="declare nothing to move") as info:
        specs_for_servers([host("a")], ["a"], source="inv.yml")
    assert "pindah_services" in info.value.hint


def test_without_a_known_hosts_file_the_workspace_one_is_used() -> None:
    bare = InventoryHost(name="db1", address="10.1.0.6", port=22, user="root", key_file=None,
                         known_hosts_file=None, vars={"pindah_data_dirs": ["/srv/db"]})
    spec = specs_for_servers([bare], ["db1"], source="inv.yml", default_known_hosts="/ws/.pindah/known_hosts")[0]
    assert spec.source.known_hosts_file == "/ws/.pindah/known_hosts"
    assert spec.target_known_hosts_file == "/ws/.pindah/known_hosts"
    args = shlex.split(connection_vars(spec.source, spec.python_interpreter)["ansible_ssh_common_args"])
    assert "UserKnownHostsFile=/ws/.pindah/known_hosts" in args
    # an inventory that names its own file keeps it
    assert spec_from_host(host(), default_known_hosts="/ws/kh").source.known_hosts_file == "/kh/known hosts"


def test_provision_timeout_comes_from_the_inventory() -> None:
    assert spec_from_host(host(pindah_data_dirs=["/srv/a"])).provision_timeout == 180
    assert spec_from_host(host(pindah_data_dirs=["/srv/a"], pindah_provision_timeout=600)).provision_timeout == 600
    with pytest.raises(InputError):
        spec_from_host(host(pindah_data_dirs=["/srv/a"], pindah_provision_timeout=1))


def test_target_shape_and_migration_options_come_from_the_inventory() -> None:
    spec = spec_from_host(host(pindah_services=[{"name": "nginx", "port": 80}], pindah_target_flavor="m5.large",
                               pindah_target_image="ami-1", pindah_target_subnet="subnet-2",
                               pindah_target_tags={"owner": "dukcapil"}, pindah_dns_name="www.example.go.id",
                               pindah_name_map="/lab/names/hosts", pindah_backup_bucket="backups-1",
                               pindah_backup_keep=3, pindah_bwlimit_kbps=2048, pindah_min_free_mb=0,
                               pindah_rollback_target="stop"))
    assert (spec.target_flavor, spec.target_image, spec.target_subnet) == ("m5.large", "ami-1", "subnet-2")
    assert spec.target_tags == {"owner": "dukcapil"} and spec.dns_name == "www.example.go.id"
    assert (spec.name_map, spec.backup_bucket, spec.backup_keep) == ("/lab/names/hosts", "backups-1", 3)
    assert (spec.bwlimit_kbps, spec.min_free_mb, spec.rollback_target) == (2048, 0, "stop")
    plain = spec_from_host(host(pindah_services=[{"name": "nginx", "port": 80}]))
    assert (plain.dns_name, plain.backup_bucket, plain.min_free_mb, plain.name_map) == ("web1", "pindah-backups",
                                                                                       100, None)


@pytest.mark.parametrize(("var", "value", "where"), [
    ("pindah_dns_name", "a b; reboot", "dns_name"),
    ("pindah_backup_bucket", "Bad_Bucket", "backup_bucket"),
    ("pindah_target_tags", {"pindah:server": "x"}, "target_tags"),
    ("pindah_name_map", "relative/hosts", "name_map"),
    ("pindah_rollback_target", "explode", "rollback_target"),
    ("pindah_bwlimit_kbps", -5, "bwlimit_kbps"),
    ("pindah_backup_keep", "many", "pindah_* number"),
])
def test_bad_migration_options_are_refused_naming_the_var(var: str, value: object, where: str) -> None:
    with pytest.raises(InputError, match=where.replace("*", r"\*")) as err:
        spec_from_host(host(pindah_services=[{"name": "nginx", "port": 80}], **{var: value}))
    assert "web1" in err.value.message
