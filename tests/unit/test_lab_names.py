"""The lab's shared name records: a hosts file every lab host reads as /etc/hosts, updated atomically."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from orchestrator.lab import names
from orchestrator.lab.hosts import boot_script
from orchestrator.lab.outputs import inventory
from orchestrator.lab.topology import build_topology

HOSTS = build_topology(7, 6, "10.213.0.0/16")
MODULE = Path(__file__).resolve().parents[2] / "playbooks" / "library" / "pindah_name_record.py"


def test_write_then_update_points_one_name_elsewhere(tmp_path: Path) -> None:
    path = names.names_file(tmp_path)
    names.write(path, {"web01": "10.0.0.10", "db01": "10.0.0.11"})
    text = path.read_text()
    assert text.startswith("127.0.0.1\tlocalhost\n") and "10.0.0.11\tdb01\n" in text
    before = names.update(path, {"db01": "10.0.128.4", "gone": None})
    assert before == {"db01": "10.0.0.11", "gone": None}
    assert names.read(path) == {"web01": "10.0.0.10", "db01": "10.0.128.4"}
    names.update(path, {"web01": None})
    assert names.read(path) == {"db01": "10.0.128.4"}


def test_parse_skips_localhost_and_comments_and_last_line_wins() -> None:
    text = "127.0.0.1 localhost\n# 10.9.9.9 old\n10.0.0.1 a b\n10.0.0.2 a  # moved\n"
    assert names.parse(text) == {"a": "10.0.0.2", "b": "10.0.0.1"}


def test_update_refuses_what_is_not_a_host_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a host name"):
        names.update(names.names_file(tmp_path), {"a b\n10.6.6.6 evil": "10.0.0.1"})


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    path = names.names_file(tmp_path)
    names.write(path, {})
    threads = [threading.Thread(target=names.update, args=(path, {f"h{i}": f"10.0.1.{i}"})) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(names.read(path)) == 40


def test_boot_script_mounts_the_records_before_root_and_inventory_names_the_file(tmp_path: Path) -> None:
    hdir = tmp_path / "hosts" / HOSTS[0].name
    script = boot_script(hdir, HOSTS[0], "/usr/bin/python3", "10.213.0.0/16")
    lines = script.splitlines()
    bind = lines.index(f"mount --bind {tmp_path / 'names'} {names.INSIDE_DIR}")
    assert lines[bind - 1].startswith("mount -t overlay lab-etc")  # after /etc, so the mountpoint exists
    assert bind < next(i for i, ln in enumerate(lines) if "lab-root" in ln)
    text = inventory(HOSTS, Path("/lab/key"), Path("/lab/kh"), {"pindah_name_map": "/lab/names/hosts"})
    assert "pindah_name_map: /lab/names/hosts" in text


def test_module_reads_and_switches_a_record_like_the_lab(tmp_path: Path) -> None:
    """The Ansible module writes the same format under the same lock as the lab's own writer."""
    pytest.importorskip("ansible")
    path = names.names_file(tmp_path)
    names.write(path, {"db01": "10.0.0.11"})

    def call(**args: object) -> dict[str, object]:
        payload = json.dumps({"ANSIBLE_MODULE_ARGS": {"path": str(path), **args}})
        proc = subprocess.run([sys.executable, str(MODULE)], input=payload, capture_output=True, text=True,
                              check=False)
        return dict(json.loads(proc.stdout))

    assert call(name="db01") == {"changed": False, "previous": "10.0.0.11", "address": "10.0.0.11",
                                 "invocation": call(name="db01")["invocation"]}
    switched = call(name="db01", address="10.0.128.9")
    assert switched["changed"] is True and switched["previous"] == "10.0.0.11"
    assert names.read(path) == {"db01": "10.0.128.9"}
    assert call(name="db01", address="10.0.128.9")["changed"] is False
    assert call(name="db01", address="not-an-ip").get("failed") is True
