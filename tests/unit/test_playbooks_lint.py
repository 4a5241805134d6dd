"""The phase playbooks and their modules pass ansible-lint (production profile) and load as playbooks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestrator.runner.states import Phase

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


def test_every_phase_has_a_playbook_with_one_named_play() -> None:
    for phase in Phase:
        plays = yaml.safe_load((PLAYBOOKS / phase.playbook).read_text())
        assert len(plays) == 1 and plays[0]["hosts"] == "pindah_wave", phase
        assert plays[0]["name"] == f"Pindah {phase.value}"


def test_ansible_lint_is_clean() -> None:
    lint = shutil.which("ansible-lint", path=str(Path(sys.executable).parent)) or shutil.which("ansible-lint")
    if lint is None:
        pytest.skip("ansible-lint is not installed (pip install -e '.[dev]')")
    proc = subprocess.run([lint, "-q", "--profile", "production", "--offline", str(PLAYBOOKS)],
                          capture_output=True, text=True, cwd=PLAYBOOKS.parent, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
