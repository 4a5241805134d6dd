"""Locating the shipped Ansible playbooks: package ``orchestrator.playbooks`` (the repo's ``playbooks/``).

This lives here, not in ``orchestrator/playbooks.py``: a module of that name would be shadowed by the
shipped package in an installed wheel.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from orchestrator.errors import RunError
from orchestrator.runner.states import Phase

PHASE_PLAYBOOKS = tuple(phase.playbook for phase in Phase)


def playbooks_dir() -> Path:
    """The directory holding the phase playbooks, from an installed wheel or a source checkout."""
    candidates: list[Path] = []
    try:
        found = resources.files("orchestrator.playbooks")
        candidates.append(Path(str(found)))
    except (ModuleNotFoundError, TypeError):
        pass
    candidates.append(Path(__file__).resolve().parents[2] / "playbooks")
    for candidate in candidates:
        if (candidate / PHASE_PLAYBOOKS[0]).is_file():
            return candidate
    raise RunError("the migration playbooks are missing from this installation",
                   hint="reinstall pindah; the wheel ships them as orchestrator/playbooks/*.yml")


def playbook_path(name: str) -> Path:
    path = playbooks_dir() / name
    if not path.is_file():
        raise RunError(f"playbook {name} is missing from {path.parent}", hint="reinstall pindah")
    return path
