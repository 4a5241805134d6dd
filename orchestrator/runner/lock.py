"""A lock per (plan, wave) in the workspace: two `pindah run` never run the same wave at once.

It is an ``flock`` on a file under ``.pindah/locks``: the kernel releases it when the holder dies (even
by kill -9), so a stale lock is simply taken over. The file names its holder (pid, user, host, command,
since) so that a refusal can say who holds it.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from orchestrator.errors import RunError
from orchestrator.store import now_iso


class WaveLocked(RunError):
    """Another live process runs this wave."""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_holder(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class WaveLock:
    """``with WaveLock(path, label):`` holds the lock or raises :class:`WaveLocked` naming the holder."""

    def __init__(self, path: Path, label: str) -> None:
        self.path = path
        self.label = label
        self.fd: int | None = None
        self.stale: dict[str, Any] = {}  # the holder recorded by a process that died holding it

    def acquire(self) -> WaveLock:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._refusal(read_holder(self.path)) from None
        previous = read_holder(self.path)
        if previous.get("pid") and previous.get("pid") != os.getpid():
            self.stale = previous
        holder = {"pid": os.getpid(), "user": getpass.getuser(), "host": socket.gethostname(),
                  "command": " ".join(["pindah", *sys.argv[1:]])[:300], "since": now_iso(), "wave": self.label}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder, sort_keys=True).encode(), 0)
        os.fsync(fd)
        self.fd = fd
        return self

    def _refusal(self, holder: dict[str, Any]) -> WaveLocked:
        who = (f"pid {holder.get('pid', '?')}, {holder.get('user', '?')}@{holder.get('host', '?')}, "
               f"since {holder.get('since', '?')}: {holder.get('command', '?')}")
        return WaveLocked(f"{self.label} is being run by another pindah process ({who})",
                          hint="wait for it to finish, or stop that process; its state is in 'pindah status'")

    def release(self) -> None:
        if self.fd is None:
            return
        os.ftruncate(self.fd, 0)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> WaveLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
