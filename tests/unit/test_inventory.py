"""Ansible inventory loading (YAML and INI) and host patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import InputError
from orchestrator.inventory import expand_range, known_hosts_from_args, load_inventory, select

YAML = """\
all:
  vars:
    ansible_user: deploy
    ansible_password: hunter2
    env: prod
  hosts:
    bastion:
      ansible_host: 10.0.0.1
  children:
    web:
      vars:
        ansible_port: 2222
        env: web-prod
      hosts:
        web[01:03]:
          ansible_host: 10.0.1.1
    db:
      vars:
        ansible_ssh_private_key_file: ~/.ssh/db_key
        ansible_ssh_common_args: '-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/pindah/kh'
      hosts:
        db-01:
          ansible_host: 10.0.2.1
          ansible_port: 22
          ansible_become_password: secret
      children:
        replicas:
          hosts:
            db-02:
"""

INI = """\
# comment
bastion ansible_host=10.0.0.1

[web]
web[01:02] ansible_host=10.0.1.1 ansible_user="www"

[db]
db-01 ansible_host=10.0.2.1 ansible_port=2200

[prod:children]
web
db

[prod:vars]
ansible_user=ops
ansible_ssh_common_args='-oUserKnownHostsFile=kh -o ConnectTimeout=5'
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_inventory_vars_children_and_ranges(tmp_path: Path) -> None:
    hosts = {h.name: h for h in load_inventory(_write(tmp_path, "hosts.yml", YAML))}
    assert sorted(hosts) == ["bastion", "db-01", "db-02", "web01", "web02", "web03"]
    assert hosts["web02"].port == 2222 and hosts["web02"].user == "deploy"
    assert hosts["web02"].vars["env"] == "web-prod"
    assert hosts["bastion"].port == 22 and hosts["bastion"].address == "10.0.0.1"
    assert hosts["db-02"].address == "db-02"
    assert hosts["db-02"].groups == ("db", "replicas")
    assert hosts["db-02"].key_file == Path("~/.ssh/db_key").expanduser()
    assert hosts["db-02"].known_hosts_file == Path("/etc/pindah/kh")
    assert hosts["bastion"].known_hosts_file is None


def test_secrets_are_never_kept(tmp_path: Path) -> None:
    for host in load_inventory(_write(tmp_path, "hosts.yml", YAML)):
        dumped = host.model_dump_json()
        assert "hunter2" not in dumped and "secret" not in dumped


def test_ini_inventory(tmp_path: Path) -> None:
    (tmp_path / "kh").write_text("")
    hosts = {h.name: h for h in load_inventory(_write(tmp_path, "hosts", INI))}
    assert sorted(hosts) == ["bastion", "db-01", "web01", "web02"]
    assert hosts["web01"].user == "www"          # host var beats group var
    assert hosts["db-01"].user == "ops" and hosts["db-01"].port == 2200
    assert hosts["bastion"].user is None
    assert hosts["web02"].groups == ("prod", "web")
    assert hosts["db-01"].known_hosts_file == (tmp_path / "kh").resolve()


def test_ini_error_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "hosts.ini", "[web]\nweb01 ansible_host\n")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert caught.value.line == 2 and caught.value.source == str(path)
    assert caught.value.hint


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yml", "all:\n  hosts:\n    a: [\n")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert caught.value.line is not None and str(path) in str(caught.value)


@pytest.mark.parametrize("text", ["- a\n- b\n", "all:\n  hostz:\n    a:\n", "all:\n  hosts: [a, b]\n", ""])
def test_yaml_structure_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError):
        load_inventory(_write(tmp_path, "bad.yml", text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_inventory(tmp_path / "nope.yml")


def test_bad_port(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="ansible_port"):
        load_inventory(_write(tmp_path, "h.yml", "all:\n  hosts:\n    a:\n      ansible_port: ssh\n"))


@pytest.mark.parametrize(("pattern", "expected"), [
    (None, ["bastion", "db-01", "db-02", "web01", "web02", "web03"]),
    ("all", ["bastion", "db-01", "db-02", "web01", "web02", "web03"]),
    ("web", ["web01", "web02", "web03"]),
    ("web01,db-02", ["db-02", "web01"]),
    ("web01:bastion", ["bastion", "web01"]),
    ("web*", ["web01", "web02", "web03"]),
    ("db:!replicas", ["db-01"]),
    ("all:&db", ["db-01", "db-02"]),
    ("~web0[12]", ["web01", "web02"]),
    ("nothing", []),
])
def test_select(tmp_path: Path, pattern: str | None, expected: list[str]) -> None:
    hosts = load_inventory(_write(tmp_path, "hosts.yml", YAML))
    assert [h.name for h in select(hosts, pattern)] == expected


def test_expand_range() -> None:
    assert expand_range("web[01:03]") == ["web01", "web02", "web03"]
    assert expand_range("db[a:c]-x") == ["dba-x", "dbb-x", "dbc-x"]
    assert expand_range("h[1:5:2]") == ["h1", "h3", "h5"]
    assert expand_range("plain") == ["plain"]


def test_known_hosts_from_args_forms(tmp_path: Path) -> None:
    assert known_hosts_from_args("-o UserKnownHostsFile=/a/kh", tmp_path) == Path("/a/kh")
    assert known_hosts_from_args("-oUserKnownHostsFile=/b/kh", tmp_path) == Path("/b/kh")
    assert known_hosts_from_args('-o "UserKnownHostsFile /c/kh"', tmp_path) == Path("/c/kh")
    assert known_hosts_from_args("-o StrictHostKeyChecking=no", tmp_path) is None


def test_name_colon_port_form(tmp_path: Path) -> None:
    ini = load_inventory(_write(tmp_path, "hosts", "[web]\nweb[1:2].example:2201\nplain\n"))
    assert [(h.name, h.port) for h in ini] == [("plain", 22), ("web1.example", 2201), ("web2.example", 2201)]
    yml = load_inventory(_write(tmp_path, "h.yml", "all:\n  hosts:\n    db.example:2222:\n      ansible_user: u\n"))
    assert (yml[0].name, yml[0].port, yml[0].user) == ("db.example", 2222, "u")


def test_yaml_structure_errors_point_at_a_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yml", "all:\n  children:\n    web:\n      hostz:\n        a:\n")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert caught.value.line == 4 and "hostz" in str(caught.value)
    path = _write(tmp_path, "bad2.yml", "all:\n  children:\n    web:\n      hosts:\n        a: 5\n")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert caught.value.line == 5
