"""The phase playbooks' own modules, called the way Ansible calls them (JSON args in, JSON result out)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

LIBRARY = Path(__file__).resolve().parents[2] / "playbooks" / "library"
pytest.importorskip("ansible")


def call(module: str, **args: Any) -> dict[str, Any]:
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": args})
    proc = subprocess.run([sys.executable, str(LIBRARY / f"{module}.py")], input=payload, capture_output=True,
                          text=True, check=False, timeout=60)
    return dict(json.loads(proc.stdout))


def load(module: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module, LIBRARY / f"{module}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tree(root: Path) -> Path:
    data = root / "srv" / "app"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("alpha\n")
    (data / "sub" / "b.bin").write_bytes(bytes(range(256)) * 10)
    (data / "link").symlink_to("a.txt")  # links are not data files
    return data


def test_host_data_manifest_digest_is_the_one_the_backup_module_computes(tmp_path: Path) -> None:
    data = tree(tmp_path)
    out = call("pindah_host_data", dirs=[str(data), str(tmp_path / "missing")], return_files=True)
    assert out["total_files"] == 2 and out["total_bytes"] == 6 + 2560
    assert [d["exists"] for d in out["dirs"]] == [True, False] and out["dirs"][1]["free_bytes"] > 0
    assert set(out["files"]) == {f"{data}/a.txt", f"{data}/sub/b.bin"}
    assert out["digest"] == load("pindah_s3_backup").manifest_digest(out["files"])
    (data / "a.txt").write_text("changed\n")
    assert call("pindah_host_data", dirs=[str(data)])["digest"] != out["digest"]


def test_backup_pack_refuses_a_copy_that_differs_from_the_source_manifest(tmp_path: Path) -> None:
    source = tree(tmp_path / "source")
    manifest = call("pindah_host_data", dirs=[str(source)], return_files=True)["files"]
    staging = tmp_path / "staging"
    # the staged copy of /<source> lives at <staging>/<source>, as rsync -R lays it out
    shutil.copytree(tmp_path / "source", staging / str(tmp_path).lstrip("/") / "source", symlinks=True)
    mod = load("pindah_s3_backup")
    archive = tmp_path / "data.tar.gz"
    mod.pack(str(staging), [str(source)], manifest, str(archive))
    with tarfile.open(archive) as tar:
        assert sorted(m.name for m in tar if m.isfile()) == sorted(p.lstrip("/") for p in manifest)
    staged = staging / str(source).lstrip("/") / "a.txt"
    staged.write_text("tampered\n")
    with pytest.raises(mod.BackupError, match="1 different"):
        mod.pack(str(staging), [str(source)], manifest, str(archive))


def test_connections_sees_an_established_inbound_connection() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    try:
        out = call("pindah_connections", ports=[port])
        assert {"local_port": port, "remote_address": "127.0.0.1",
                "remote_port": client.getsockname()[1]} in out["established"]
        assert out["remote_addresses"] == ["127.0.0.1"]
        assert call("pindah_connections", ports=[1])["established"] == []
    finally:
        for s in (conn, client, server):
            s.close()


def test_rsync_module_measures_and_reports_changes(tmp_path: Path) -> None:
    data = tree(tmp_path / "src")
    dest = tmp_path / "dest"
    first = call("pindah_rsync", sources=[f"{data}/"], dest=f"{dest}/", rsh="ssh", mkpath=True)
    assert first["changed"] is True and first["files_transferred"] == 2 and first["seconds"] >= 0
    assert (dest / str(data).lstrip("/") / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 10
    again = call("pindah_rsync", sources=[f"{data}/"], dest=f"{dest}/", rsh="ssh", bwlimit_kbps=1000)
    assert again["changed"] is False and again["files_transferred"] == 0
    failed = call("pindah_rsync", sources=[f"{tmp_path}/nope/"], dest=f"{dest}/", rsh="ssh")
    assert failed.get("failed") is True and "rsync exited 23" in failed["msg"]
