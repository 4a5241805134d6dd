"""The seam between the engine and Ansible: a small Protocol and its one real implementation."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from orchestrator.runner.events import compact, error_text, redact, secret_env_values, tail
from orchestrator.runner.states import Phase
from orchestrator.runner.targets import TARGET_SUFFIX

EventSink = Callable[[str | None, dict[str, Any]], None]
OUTPUT_PREFIX = "pindah_out_"


@dataclass(frozen=True)
class PhaseRequest:
    """One phase for a set of servers. ``hostvars`` holds every inventory host (servers and targets)."""

    phase: Phase
    servers: tuple[str, ...]
    hostvars: Mapping[str, Mapping[str, Any]]
    extravars: Mapping[str, Any]
    workdir: Path
    forks: int = 10
    env: Mapping[str, str] = field(default_factory=dict)  # secrets: never written to disk or events


@dataclass(frozen=True)
class HostOutcome:
    ok: bool
    error: str | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)
    transient: bool = False  # unreachable, or the ansible process died: worth another attempt


@dataclass(frozen=True)
class PhaseResult:
    outcomes: Mapping[str, HostOutcome]


class PlaybookRunner(Protocol):
    def run_phase(self, request: PhaseRequest, on_event: EventSink) -> PhaseResult:
        """Run ``request.phase`` for ``request.servers``; report each stored event through ``on_event``."""
        ...


def server_of(host: str | None) -> str | None:
    return host.removesuffix(TARGET_SUFFIX) if host else None


class _Collector:
    """Reads the event stream of one playbook run: per-server failures, outputs and a stdout tail."""

    def __init__(self, secrets: tuple[str, ...], sink: EventSink) -> None:
        self.secrets = secrets
        self.sink = sink
        self.errors: dict[str, str] = {}
        self.unreachable: set[str] = set()
        self.outputs: dict[str, dict[str, Any]] = {}
        self.stats: dict[str, Any] = {}
        self.lines: list[str] = []

    def __call__(self, event: dict[str, Any]) -> bool:
        if event.get("stdout"):
            self.lines = [*self.lines[-20:], str(event["stdout"])]
        record = compact(event)
        if record is None:
            return False
        record = redact(record, self.secrets)
        server = server_of(record.get("host"))
        data = event.get("event_data") or {}
        res: dict[str, Any] = data["res"] if isinstance(data.get("res"), dict) else {}
        if record["event"] in ("runner_on_failed", "runner_item_on_failed", "runner_on_unreachable") and server \
                and not data.get("ignore_errors"):
            self.errors.setdefault(server, f"{record.get('task')}: {redact(error_text(res), self.secrets)}")
            if record["event"] == "runner_on_unreachable" and self.errors[server].startswith(f"{record.get('task')}:"):
                self.unreachable.add(server)
        if record["event"] == "runner_on_ok" and server:
            facts = res.get("ansible_facts") or {}
            for key, value in facts.items():
                if key.startswith(OUTPUT_PREFIX):
                    self.outputs.setdefault(server, {})[key.removeprefix(OUTPUT_PREFIX)] = value
        if record["event"] == "playbook_on_stats":
            self.stats = record
        self.sink(server, record)
        return False  # never written to disk: the store keeps the redacted record

    def outcome(self, server: str, rc: int | None) -> HostOutcome:
        if server in self.errors:
            return HostOutcome(ok=False, error=self.errors[server], transient=server in self.unreachable)
        seen = {key: {server_of(h) for h in self.stats.get(key, {})}
                for key in ("ok", "changed", "failures", "dark", "skipped")}
        if server in seen["failures"] | seen["dark"]:
            return HostOutcome(ok=False, error=f"playbook reported a failure for this server (rc={rc})",
                               transient=server in seen["dark"] and server not in seen["failures"])
        if server in set().union(*seen.values()):
            return HostOutcome(ok=True, outputs=self.outputs.get(server, {}))
        if died(rc) and not self.stats:
            return HostOutcome(ok=False, error=f"the ansible process died (rc={rc}) before a result for this "
                               "server", transient=True)
        why = tail(redact("\n".join(self.lines), self.secrets), 400).strip()
        return HostOutcome(ok=False, error=f"playbook ended rc={rc} without a result for this server: {why}")


def died(rc: int | None) -> bool:
    """An exit code that means the ansible process was killed (by a signal) rather than finishing."""
    return rc is None or rc < 0 or rc >= 128


def orphans(workdir: Path) -> list[int]:
    """Processes (left by a killed pindah) still working in ``workdir``: their command line names it."""
    needle = str(workdir).encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and int(proc.name) != os.getpid():
            found.append(int(proc.name))
    return sorted(found)


def reap_orphans(workdir: Path, grace: float = 5.0) -> list[int]:
    """Stop what a killed run left running in ``workdir`` (TERM, then KILL) before a resume runs anything."""
    found = orphans(workdir)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in found):
            time.sleep(0.05)
    return found


class AnsibleRunnerPlaybooks:
    """The real PlaybookRunner: ansible-runner over the shipped phase playbooks."""

    def __init__(self, playbooks: Path) -> None:
        self.playbooks = playbooks

    def run_phase(self, request: PhaseRequest, on_event: EventSink) -> PhaseResult:
        import ansible_runner

        pdd = request.workdir / "ansible" / request.phase.value
        pdd.mkdir(parents=True, exist_ok=True, mode=0o700)
        secrets = secret_env_values(request.env)
        collector = _Collector(secrets, on_event)
        artifacts = pdd / "artifacts"
        result = ansible_runner.run(
            private_data_dir=str(pdd), project_dir=str(self.playbooks), playbook=request.phase.playbook,
            inventory=_inventory(request), envvars=_env(request, pdd), extravars=dict(request.extravars),
            forks=request.forks, event_handler=collector, quiet=True, suppress_env_files=True,
            suppress_output_file=True, ident=f"{request.phase.value}-{uuid.uuid4().hex[:8]}",
            artifact_dir=str(artifacts),
            status_handler=lambda status, runner_config: _scrub(artifacts),
        )
        _scrub(artifacts)
        rc = result.rc
        return PhaseResult({s: collector.outcome(s, rc) for s in request.servers})


def _inventory(request: PhaseRequest) -> dict[str, Any]:
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    hosts = {name: dict(hv) for name, hv in request.hostvars.items()}
    return {"all": {"hosts": {"localhost": local, **hosts},
                    "children": {"pindah_wave": {"hosts": {s: {} for s in request.servers}}}}}


def _env(request: PhaseRequest, pdd: Path) -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    return {
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(pdd / "tmp"),
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_TIMEOUT": "20",
        "ANSIBLE_SSH_RETRIES": "2",  # a transient network error is not a failed server
        **request.env,
    }


def _scrub(artifacts: Path) -> None:
    """ansible-runner writes the job's full environment (credentials included) to artifacts/*/command."""
    for leftover in (*artifacts.glob("*/command"), *artifacts.glob("*/env.list")):
        leftover.unlink(missing_ok=True)
    env_dir = artifacts.parent / "env"
    if env_dir.is_dir():
        shutil.rmtree(env_dir)
