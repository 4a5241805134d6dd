"""What a lab host shows instead of the machine's own files: /proc and /sys stand-ins, /etc layer."""

from __future__ import annotations

import os
import stat
import subprocess

from orchestrator.lab.layers import cpuinfo, init_script, meminfo, partitions, passwd, sys_block, write_layers
from orchestrator.lab.manifest import LabService
from orchestrator.lab.topology import build_topology

HOSTS = build_topology(7, 12, "10.213.0.0/16")


def test_cpuinfo_and_meminfo():
    assert cpuinfo(8).count("processor\t:") == 8
    assert "siblings\t: 8" in cpuinfo(8)
    first = meminfo(4096).splitlines()[0]
    assert first.split() == ["MemTotal:", str(4096 * 1024), "kB"]


def test_partitions_and_sys_block_agree(tmp_path):
    host = next(h for h in HOSTS if len(h.disks) == 2)
    text = partitions(host)
    rows = {line.split()[3]: int(line.split()[2]) for line in text.splitlines()[2:]}
    for disk in host.disks:
        assert rows[disk.name] == disk.size_gb * 1024 * 1024
    sys_block(tmp_path, host)
    numbers = {line.split()[3]: line.split()[1] for line in text.splitlines()[2:]}
    for name, blocks in rows.items():
        target = os.readlink(tmp_path / "dev-block" / f"8:{numbers[name]}")  # relative to /sys/dev/block
        assert target.startswith("../../block/") and target.endswith("/" + name)
        attrs = tmp_path / target.removeprefix("../../")
        assert int((attrs / "size").read_text()) == blocks * 2
        assert (attrs / "dev").read_text().strip() == f"8:{numbers[name]}"


def test_passwd_gives_root_sh():
    out = passwd("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    assert out.splitlines()[0] == "root:x:0:0:root:/root:/bin/sh"
    assert out.splitlines()[1].endswith("/usr/sbin/nologin")


def test_init_script_quotes_and_runs_status(tmp_path):
    service = LabService(name="nginx", process="nginx", port=80, data_dir="/srv/a b",
                         connects=(("app01", 8080),))
    script = tmp_path / "nginx"
    script.write_text(init_script(service, "/opt/py thon"))
    assert "'/srv/a b'" in script.read_text() and "'/opt/py thon'" in script.read_text()
    script.chmod(0o755)
    proc = subprocess.run([str(script), "status"], capture_output=True, text=True, check=False)
    assert proc.returncode == 3 and "stopped" in proc.stdout


def test_write_layers_hides_foreign_release_files(tmp_path):
    if os.geteuid() != 0:
        import pytest

        pytest.skip("whiteouts (mknod) and trusted xattrs need root")
    host = next(h for h in build_topology(7, 60, "10.213.0.0/16") if h.os.key in ("rhel6.10", "centos6.7"))
    write_layers(tmp_path, host, "/usr/bin/python3")
    etc = tmp_path / "layer" / "etc"
    assert (etc / "redhat-release").read_text().startswith(("Red Hat", "CentOS"))
    assert stat.S_ISCHR((etc / "os-release").lstat().st_mode)
    assert stat.S_ISCHR((tmp_path / "layer" / "usrlib" / "os-release").lstat().st_mode)
    assert os.getxattr(etc / "init.d", "trusted.overlay.opaque") == b"y"
    assert sorted(p.name for p in (etc / "init.d").iterdir()) == sorted(s.name for s in host.services)
    assert (etc / "hostname").read_text() == host.hostname + "\n"
    assert os.readlink(etc / "hosts") == "/etc/pindah-lab/names/hosts"  # the lab's shared name records
    assert (etc / "pindah-lab" / "names").is_dir()  # where the boot script mounts them
