"""Files a lab host shows instead of the machine's own: its /etc layer, /proc and /sys stand-ins.

Pure text builders plus one writer; nothing here starts a process.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path

from orchestrator.lab import apps, names, packages
from orchestrator.lab.distros import DISTROS, RELEASE_FILES
from orchestrator.lab.manifest import LabHost, LabService

SECTOR = 512


def cpuinfo(count: int) -> str:
    blocks = []
    for i in range(count):
        blocks.append(
            f"processor\t: {i}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"
            "model name\t: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz\nstepping\t: 4\nmicrocode\t: 0x2006b06\n"
            "cpu MHz\t\t: 2394.374\ncache size\t: 28160 KB\nphysical id\t: 0\n"
            f"siblings\t: {count}\ncore id\t\t: {i}\ncpu cores\t: {count}\napicid\t\t: {i}\n"
            f"initial apicid\t: {i}\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 22\nwp\t\t: yes\n"
            "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx "
            "fxsr sse sse2 ss syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology cpuid "
            "pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand "
            "hypervisor lahf_lm abm 3dnowprefetch avx2 avx512f avx512dq\n"
            "bogomips\t: 4788.74\nclflush size\t: 64\ncache_alignment\t: 64\n"
            "address sizes\t: 46 bits physical, 48 bits virtual\npower management:\n\n")
    return "".join(blocks)


def meminfo(memory_mb: int) -> str:
    total = memory_mb * 1024
    free, avail, cached = total * 55 // 100, total * 75 // 100, total * 18 // 100
    rows = [("MemTotal", total), ("MemFree", free), ("MemAvailable", avail), ("Buffers", total // 50),
            ("Cached", cached), ("SwapCached", 0), ("Active", total // 5), ("Inactive", total // 8),
            ("SwapTotal", 2097148), ("SwapFree", 2097148), ("Dirty", 64), ("Shmem", 12288),
            ("Slab", total // 40), ("CommitLimit", total // 2 + 2097148), ("Committed_AS", total // 3),
            ("HugePages_Total", 0)]
    return "".join(f"{k + ':':<16}{v:>8} kB\n" if k != "HugePages_Total" else f"{k + ':':<16}{v:>8}\n"
                   for k, v in rows)


def disk_layout(host: LabHost) -> list[tuple[str, int, int, int, int]]:
    """(name, major, minor, start sector, sectors) per disk and partition; start -1 for whole disks."""
    rows: list[tuple[str, int, int, int, int]] = []
    for n, disk in enumerate(host.disks):
        sectors = disk.size_gb * 1024**3 // SECTOR
        rows.append((disk.name, 8, n * 16, -1, sectors))
        parts = [(2048, 2097152), (2099200, sectors - 2099200 - 2048)] if n == 0 else [(2048, sectors - 4096)]
        rows += [(f"{disk.name}{k}", 8, n * 16 + k, start, size) for k, (start, size) in enumerate(parts, 1)]
    return rows


def partitions(host: LabHost) -> str:
    """/proc/partitions: sizes in 1 KiB blocks."""
    lines = ["major minor  #blocks  name", ""]
    lines += [f"{major:>4} {minor:>7} {sectors // 2:>10} {name}"
              for name, major, minor, _, sectors in disk_layout(host)]
    return "\n".join(lines) + "\n"


def _attrs(d: Path, values: dict[str, str]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, value in values.items():
        (d / name).write_text(value + "\n")


def sys_block(root: Path, host: LabHost) -> None:
    """Stand-ins for /sys/block and /sys/dev/block: the attributes lsblk reads, per disk and partition."""
    block, devs = root / "block", root / "dev-block"
    devs.mkdir(parents=True, exist_ok=True)
    disk_dir = block
    for name, major, minor, start, sectors in disk_layout(host):
        common = {"dev": f"{major}:{minor}", "size": str(sectors), "ro": "0", "alignment_offset": "0",
                  "discard_alignment": "0"}
        if start < 0:
            disk_dir = block / name
            _attrs(disk_dir, common | {"removable": "0", "ext_range": "16", "capability": "50", "hidden": "0"})
            _attrs(disk_dir / "queue", {"rotational": "1", "logical_block_size": "512",
                                        "physical_block_size": "512", "minimum_io_size": "512",
                                        "optimal_io_size": "0", "read_ahead_kb": "128", "nr_requests": "256",
                                        "scheduler": "[mq-deadline] none", "zoned": "none",
                                        "discard_granularity": "0", "discard_max_bytes": "0"})
            _attrs(disk_dir / "device", {"model": "QEMU HARDDISK", "vendor": "ATA", "state": "running"})
            (devs / f"{major}:{minor}").symlink_to(f"../../block/{name}")
        else:
            _attrs(disk_dir / name, common | {"start": str(start), "partition": str(minor % 16)})
            (devs / f"{major}:{minor}").symlink_to(f"../../block/{disk_dir.name}/{name}")


def passwd(real: str) -> str:
    out = []
    for line in real.splitlines():
        parts = line.split(":")
        if parts[0] == "root" and len(parts) == 7:
            parts[6] = "/bin/sh"
        out.append(":".join(parts))
    return "\n".join(out) + "\n"


def service_spec(service: LabService) -> dict[str, object]:
    return {"name": service.name, "process": service.process, "port": service.port, "data": service.data_dir,
            "connects": [[h, p] for h, p in service.connects], "udp_port": service.udp_port,
            "udp_connects": [[h, p] for h, p in service.udp_connects]}


def init_script(service: LabService, python: str) -> str:
    args = [python, "-I", "-S", apps.__file__, "run", "--name", service.name, "--process", service.process,
            "--port", str(service.port), "--data", service.data_dir]
    for host, port in service.connects:
        args += ["--connect", f"{host}:{port}"]
    if service.udp_port:
        args += ["--udp-port", str(service.udp_port)]
    for host, port in service.udp_connects:
        args += ["--udp-connect", f"{host}:{port}"]
    cmd = " ".join(shlex.quote(a) for a in args)
    name = shlex.quote(service.name)
    return f"""#!/bin/sh
### BEGIN INIT INFO
# Provides:          {service.name}
# Short-Description: {service.process} (lab service)
### END INIT INFO
NAME={name}
PIDFILE=/var/run/$NAME.pid
is_running() {{ [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE" 2>/dev/null)" 2>/dev/null; }}
case "$1" in
  start) exec {cmd} ;;
  stop)
    if is_running; then
      kill "$(cat "$PIDFILE" 2>/dev/null)" 2>/dev/null || true
      i=0; while is_running && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
    fi
    rm -f "$PIDFILE"; echo "$NAME stopped" ;;
  status)
    if is_running; then echo "$NAME (pid $(cat "$PIDFILE")) is running"; exit 0; fi
    echo "$NAME is stopped"; exit 3 ;;
  restart) "$0" stop; exec "$0" start ;;
  *) echo "Usage: $0 {{start|stop|status|restart}}"; exit 2 ;;
esac
"""


def _whiteout(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))


def write_layers(hdir: Path, host: LabHost, python: str) -> None:
    """Everything under ``hdir`` that the host's boot script mounts.

    ``/etc/hosts`` is a symlink into the lab's shared name records (see ``names``), not a copy.
    """
    distro = DISTROS[host.os.key]
    etc, usrlib = hdir / "layer" / "etc", hdir / "layer" / "usrlib"
    for d in (etc / "init.d", etc / "pindah-lab" / "names", usrlib, hdir / "etc-upper", hdir / "etc-work",
              hdir / "proc", hdir / "run", hdir / "log", hdir / "root-upper", hdir / "root-work", hdir / "srv"):
        d.mkdir(parents=True, exist_ok=True)
    os.setxattr(etc / "init.d", "trusted.overlay.opaque", b"y")  # only the lab's services show
    for name in RELEASE_FILES:
        if name in distro.files:
            (etc / name).write_text(distro.files[name])
        elif (Path("/etc") / name).exists() or (Path("/etc") / name).is_symlink():
            _whiteout(etc / name)
    if "os-release" in distro.files:
        (usrlib / "os-release").write_text(distro.files["os-release"])
    else:
        _whiteout(usrlib / "os-release")
    (etc / "hostname").write_text(host.hostname + "\n")
    (etc / "hosts").unlink(missing_ok=True)
    (etc / "hosts").symlink_to(f"{names.INSIDE_DIR}/{names.NAMES_FILE}")
    (etc / "passwd").write_text(passwd(Path("/etc/passwd").read_text()))
    dpkg = etc / packages.ADMIN_DIR.removeprefix("/etc/")
    dpkg.mkdir(parents=True, exist_ok=True)
    (dpkg / "status").write_text(packages.dpkg_status(host))
    specs = [service_spec(s) for s in host.services]
    (etc / "pindah-lab" / "services.json").write_text(json.dumps(specs, indent=1) + "\n")
    for service in host.services:
        script = etc / "init.d" / service.name
        script.write_text(init_script(service, python))
        script.chmod(0o755)
        if service.data_dir:
            write_data(hdir / "srv", host, service)
    (hdir / "proc" / "cpuinfo").write_text(cpuinfo(host.cpu_count))
    (hdir / "proc" / "meminfo").write_text(meminfo(host.memory_mb))
    (hdir / "proc" / "partitions").write_text(partitions(host))
    (hdir / "proc" / "cpu-online").write_text(f"0-{host.cpu_count - 1}\n" if host.cpu_count > 1 else "0\n")
    sys_block(hdir / "sysblock", host)


def write_data(srv: Path, host: LabHost, service: LabService) -> None:
    """Data files of a service (deterministic from the host and service)."""
    d = srv / service.data_dir.removeprefix("/srv/")
    d.mkdir(parents=True, exist_ok=True)
    (d / "VERSION").write_text(f"{service.process} data for {host.application}\n")
    (d / "records.csv").write_text("".join(f"{i},{host.application},{service.name},{i * 7919 % 1000}\n"
                                           for i in range(50)))
