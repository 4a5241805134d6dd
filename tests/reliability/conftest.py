"""The reliability suite's bookkeeping: every test declares the fault it tries with ``@pytest.mark.fault``.

The rows of docs/reliability.md are made from those markers (area, fault, trials, asserted result), so the
table cannot drift from what runs: ``test_reliability_doc.py`` compares the two and fails on any difference.
``PINDAH_WRITE_RELIABILITY_TABLE=1 pytest tests/reliability -k doc_table`` rewrites the table.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "integration"), str(HERE.parent / "unit")]  # sshd_daemon, shared_fixtures

ROWS_KEY = pytest.StashKey[dict[tuple[str, str], "FaultRow"]]()
MODULES_KEY = pytest.StashKey[set[str]]()


@dataclass
class FaultRow:
    area: str
    fault: str
    result: str
    trials: int
    tests: set[str]
    known_bug: bool = False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fault(area, fault, result, trials=1): one row of docs/reliability.md; parametrised "
        "cases and repeated markers add up their trials")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Gather the fault rows of every collected reliability test, before -k/-m deselect any."""
    rows: dict[tuple[str, str], FaultRow] = {}
    modules: set[str] = set()
    for item in items:
        path = Path(str(item.path)).resolve()
        if path.parent != HERE:
            continue
        modules.add(path.name)
        known_bug = item.get_closest_marker("xfail") is not None
        for mark in item.iter_markers("fault"):
            area, fault, result = mark.args
            key = (area, fault)
            row = rows.setdefault(key, FaultRow(area, fault, result, 0, set(), known_bug))
            if row.result != result:
                raise pytest.UsageError(f"fault row {key} declared with two results: {row.result!r} / {result!r}")
            row.trials += int(mark.kwargs.get("trials", 1))
            row.tests.add(path.name)
    config.stash[ROWS_KEY] = rows
    config.stash[MODULES_KEY] = modules


def fault_rows(config: pytest.Config) -> dict[tuple[str, str], FaultRow]:
    return config.stash.get(ROWS_KEY, {})


def collected_modules(config: pytest.Config) -> set[str]:
    return config.stash.get(MODULES_KEY, set())


# -- helpers shared by the suite -------------------------------------------------------------------
def needs_root_sshd() -> str | None:
    if os.geteuid() != 0:
        return "needs root (sshd, network namespaces)"
    if not Path("/usr/sbin/sshd").exists():
        return "openssh-server (/usr/sbin/sshd) is not installed"
    return None


def children_of(pid: int) -> list[int]:
    """Every descendant process of ``pid`` (from /proc), deepest last."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found.extend(kids)
        frontier.extend(kids)
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL the descendants of a process this suite started (sshd leaves per-connection children)."""
    for child in reversed(children_of(pid)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


@pytest.fixture
def root_sshd() -> Iterator[None]:
    reason = needs_root_sshd()
    if reason:
        pytest.skip(reason)
    yield


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def pindah(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """The real console entry point (its one error boundary included), in this process."""
    from orchestrator.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["pindah", *args])
        monkeypatch.setenv("COLUMNS", "400")
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
