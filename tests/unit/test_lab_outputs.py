"""Inventory, known_hosts and servers.csv the lab writes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml

from orchestrator.lab.outputs import CSV_FIELDS, inventory, known_hosts_line, servers_csv
from orchestrator.lab.topology import build_topology

HOSTS = build_topology(7, 20, "10.213.0.0/16")


def test_inventory_groups_and_vars():
    data = yaml.safe_load(inventory(HOSTS, Path("/lab/id_ed25519"), Path("/lab/known_hosts")))
    root = data["all"]
    assert "UserKnownHostsFile=/lab/known_hosts" in root["vars"]["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=yes" in root["vars"]["ansible_ssh_common_args"]
    groups = root["children"]
    hostvars = {}
    for name, group in groups.items():
        if name.startswith("app_"):
            hostvars.update(group["hosts"])
    assert set(hostvars) == {h.name for h in HOSTS}
    first = HOSTS[0]
    reach = {k: v for k, v in hostvars[first.name].items() if k.startswith("ansible_")}
    assert reach == {"ansible_host": first.address, "ansible_port": 22, "ansible_user": "root",
                     "ansible_ssh_private_key_file": "/lab/id_ed25519"}
    assert set(groups["shared_service"]["hosts"]) == {h.name for h in HOSTS if h.role}
    assert {"tier_web", "tier_app", "tier_db", "tier_ldap"} <= set(groups)
    assert all("-" not in name for name in groups)


def test_known_hosts_line_drops_comment():
    assert known_hosts_line("10.0.0.5", "ssh-ed25519 AAAAkey root@h") == "10.0.0.5 ssh-ed25519 AAAAkey\n"


def test_servers_csv():
    rows = list(csv.DictReader(io.StringIO(servers_csv(HOSTS))))
    assert tuple(rows[0]) == CSV_FIELDS
    assert len(rows) == len(HOSTS)
    assert rows[0]["disk_gb"] == str(sum(d.size_gb for d in HOSTS[0].disks))
    assert rows[0]["os"] == f"{HOSTS[0].os.id} {HOSTS[0].os.version_id}"


def test_servers_csv_is_importable():
    from orchestrator.importers import parse_servers

    servers = parse_servers(servers_csv(HOSTS).encode(), "servers.csv")
    assert [s.name for s in servers] == [h.name for h in HOSTS]
    assert {s.role for s in servers} == {"shared-service", None}


def test_inventory_declares_what_each_host_moves():
    data = yaml.safe_load(inventory(HOSTS, Path("/lab/id_ed25519"), Path("/lab/known_hosts")))
    hostvars = {}
    for name, group in data["all"]["children"].items():
        if name.startswith("app_"):
            hostvars.update(group["hosts"])
    for host in HOSTS:
        kept = {(s.name, s.port) for s in host.services if s.data_dir and s.port}
        declared = {(s["name"], s["port"]) for s in hostvars[host.name]["pindah_services"]}
        assert declared == kept
        assert kept, f"{host.name} has no service with data to move"
        assert hostvars[host.name]["pindah_data_dirs"] == sorted({s.data_dir for s in host.services
                                                                  if s.data_dir and s.port})
        assert "sssd" not in {name for name, _ in declared}
