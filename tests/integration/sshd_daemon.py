"""A throwaway OpenSSH sshd on 127.0.0.1 for transport tests (needs root and /usr/sbin/sshd)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from discovery.transport import SshTarget

SSHD = Path("/usr/sbin/sshd")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@dataclass
class Daemon:
    port: int
    folder: Path
    known_hosts: Path
    proc: subprocess.Popen[bytes]

    @property
    def good_key(self) -> Path:
        """The client key sshd accepts."""
        return self.folder / "client_key"

    @property
    def bad_key(self) -> Path:
        """A client key sshd does not know."""
        return self.folder / "other_key"

    @property
    def host_pub(self) -> Path:
        return self.folder / "host_key.pub"

    def target(self, name: str = "h1", key: Path | None = None, port: int | None = None) -> SshTarget:
        return SshTarget(name=name, address="127.0.0.1", port=port or self.port, user="root",
                         key_file=key or self.good_key)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def start_sshd(folder: Path, max_startups: str = "100:30:200", extra_config: str = "",
               password_auth: bool = False) -> Daemon:
    """Start sshd with fresh host and client keys; known_hosts holds its real host key.

    ``extra_config`` lines are appended to sshd_config (e.g. a ForceCommand, ClientAliveInterval).
    ``password_auth`` lets local users log in with their (shadow) password.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "client_key", "other_key"):
        keygen(folder / name)
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    port = free_port()
    password = "yes" if password_auth else "no"
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\nPidFile {folder / 'pid'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nStrictModes no\nPasswordAuthentication {password}\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\nAllowTcpForwarding yes\n"
        f"MaxStartups {max_startups}\nLogLevel ERROR\n{extra_config}")
    Path("/run/sshd").mkdir(exist_ok=True)
    proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(folder / "sshd_config")])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    key_type, key_b64 = (folder / "host_key.pub").read_text().split()[:2]
    known = folder / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {key_type} {key_b64}\n")
    return Daemon(port, folder, known, proc)
