from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.runner.lock import WaveLock, WaveLocked, pid_alive

HOLD = """
import sys, time
from pathlib import Path
from orchestrator.runner.lock import WaveLock
WaveLock(Path(sys.argv[1]), "wave 1 of plan p").acquire()
print("held", flush=True)
time.sleep(60)
"""


def _holder(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_is_refused_and_told_who_holds_the_wave(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "run-p-wave-1.lock"
    proc = _holder(path)
    try:
        with pytest.raises(WaveLocked) as info:
            WaveLock(path, "wave 1 of plan p").acquire()
        message = str(info.value)
        assert f"pid {proc.pid}" in message and "wave 1 of plan p" in message and "since" in message
        assert "@" in message and info.value.hint
    finally:
        proc.kill()
        proc.wait()


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    proc = _holder(path)
    proc.kill()  # SIGKILL: no clean-up ran, the file still names the dead holder
    proc.wait()
    assert json.loads(path.read_text())["pid"] == proc.pid and not pid_alive(proc.pid)
    with WaveLock(path, "wave 1 of plan p") as lock:
        assert lock.stale["pid"] == proc.pid
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert path.read_text() == ""  # released: names nobody


def test_the_lock_is_not_inherited_by_children(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    with WaveLock(path, "w"):
        child = subprocess.Popen(["sleep", "30"])
    try:
        with WaveLock(path, "w"):  # the still-running child does not keep the wave locked
            pass
    finally:
        child.kill()
        child.wait()
