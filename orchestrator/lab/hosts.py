"""Lab hosts as processes: per-host sshd (plus its services) inside a netns and private mount/UTS namespaces."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from orchestrator.errors import LabError
from orchestrator.lab import apps, names, netns, packages
from orchestrator.lab.manifest import LabHost

SSHD = "/usr/sbin/sshd"


def generate_key(path: Path, comment: str) -> str:
    """Write an OpenSSH ed25519 private key to ``path`` (+ ``.pub``); return the public key line."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    path.touch(mode=0o600)
    path.write_bytes(private)
    line = f"{public.decode()} {comment}"
    path.with_name(path.name + ".pub").write_text(line + "\n")
    return line


def sshd_config(host: LabHost, authorized_keys: Path) -> str:
    """The host's /etc/ssh/sshd_config (paths as seen inside the host)."""
    return f"""# lab host {host.name}
ListenAddress {host.address}:22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile {authorized_keys}
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
MaxStartups 200:30:400
MaxSessions 50
UseDNS no
PrintMotd no
PrintLastLog no
AcceptEnv LANG LC_*
SetEnv OMP_NUM_THREADS={host.cpu_count} DPKG_ADMINDIR={packages.ADMIN_DIR}
Subsystem sftp internal-sftp
"""


def boot_script(hdir: Path, host: LabHost, python: str, subnet: str) -> str:
    """The host's boot: network, its mounts (the lab's name records before /root, which may hold them), sshd."""
    q = shlex.quote
    h = str(hdir)
    mounts = [
        f"mount -t overlay lab-etc -o lowerdir={h}/layer/etc:/etc,upperdir={h}/etc-upper,workdir={h}/etc-work /etc",
        f"mount --bind {hdir.parent.parent / names.NAMES_DIR} {names.INSIDE_DIR}",
        f"mount -t overlay lab-usrlib -o lowerdir={h}/layer/usrlib:/usr/lib /usr/lib",
        f"mount --bind {h}/proc/cpuinfo /proc/cpuinfo",
        f"mount --bind {h}/proc/meminfo /proc/meminfo",
        f"mount --bind {h}/proc/partitions /proc/partitions",
        f"mount --bind {h}/proc/cpu-online /sys/devices/system/cpu/online",
        f"mount --bind {h}/sysblock/block /sys/block",
        f"mount --bind {h}/sysblock/dev-block /sys/dev/block",
        f"mount --bind {h}/srv /srv",
        f"mount --bind {h}/run /run",
        f"mount --bind {h}/log /var/log",
        f"mount -t overlay lab-root -o lowerdir=/root,upperdir={h}/root-upper,workdir={h}/root-work /root",
    ]
    return "\n".join([
        "set -e", f"ip -batch - <<'EOF'\n{netns.inside_config(host.address, subnet)}EOF",
        # this mount namespace is a copy of the controller's, with one netns mount per lab host: dropped
        # here, or every host would keep a copy of every other's (memory grows with the square of the hosts)
        "umount -l /run/netns 2>/dev/null || true",
        "umount -l /sys && mount -t sysfs lab-sys /sys",  # /sys/class/net shows this namespace's links
        *mounts,
        "mkdir -p /run/sshd", f"hostname {q(host.hostname)}",
        *([f"{q(python)} -I -S {q(apps.__file__)} boot /etc/pindah-lab/services.json >/var/log/lab-boot.log"
           " 2>&1 || true"] if host.services else []),
        f"exec {SSHD} -D -E /var/log/sshd.log",
    ]) + "\n"


def start_host(hdir: Path, ns: str, host: LabHost, python: str, subnet: str) -> int:
    """Configure ``ns``'s interface, start the host's services and sshd in it; return sshd's PID.

    The host gets its own mount, UTS and PID namespaces (``ps`` in a session shows that host only);
    sshd runs in the foreground as the namespace's PID 1 and reaps what the services leave.
    """
    (hdir / "boot.sh").write_text(boot_script(hdir, host, python, subnet))
    ready = hdir / "run" / "sshd.pid"  # the host's /run/sshd.pid
    ready.unlink(missing_ok=True)
    with (hdir / "boot.log").open("ab") as log:
        proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{ns}", "unshare", "--mount", "--uts", "--pid", "--fork", "--mount-proc",
             "--propagation", "private", "sh", str(hdir / "boot.sh")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 20.0
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = (hdir / "boot.log").read_text(errors="replace").strip()[-400:]
            raise LabError(f"host {host.name}: boot failed: {tail}",
                           hint=f"see {hdir}/boot.log and log/sshd.log; 'pindah lab down' cleans up")
        time.sleep(0.02)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    if not children:
        raise LabError(f"host {host.name}: sshd exited at start", hint=f"see {hdir}/log/sshd.log")
    return int(children[0])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def terminate(find: Callable[[], list[int]], kill: Callable[[int, int], None], grace: float) -> None:
    """SIGTERM what ``find`` returns, wait up to ``grace`` seconds, then SIGKILL whatever it still returns."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = find()
        for pid in pids:
            with contextlib.suppress(OSError):
                kill(pid, sig)
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if alive(p)]
            time.sleep(0.02)
        if not pids:
            return


def kill_netns(namespaces: list[str]) -> None:
    """Stop every process in the namespaces (sshd, its session children, services)."""
    terminate(lambda: netns.netns_pids(namespaces), os.kill, grace=2.0)
