from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

from orchestrator.runner.shipped import PHASE_PLAYBOOKS, playbooks_dir
from orchestrator.runner.states import Phase

REPO = Path(__file__).resolve().parents[2]


def test_every_phase_has_a_parseable_playbook() -> None:
    root = playbooks_dir()
    present = [phase for phase in Phase if (root / phase.playbook).is_file()]
    # the engine skips (with an event) a phase whose playbook is not shipped yet; the core five must be
    assert set(Phase) - set(present) <= {Phase.BACKUP, Phase.FINALIZE, Phase.ROLLBACK}
    for phase in present:
        plays = yaml.safe_load((root / phase.playbook).read_text())
        assert plays[0]["hosts"] == "pindah_wave" and plays[0]["gather_facts"] is False
    assert (root / "library" / "pindah_ec2_instance.py").is_file()
    assert [p.playbook for p in Phase] == list(PHASE_PLAYBOOKS)


def test_no_shell_strings_in_playbooks() -> None:
    for path in playbooks_dir().rglob("*.yml"):
        text = path.read_text()
        assert "ansible.builtin.shell" not in text and "ansible.builtin.raw" not in text, path


def test_wheel_ships_playbooks_and_module(tmp_path: Path) -> None:
    src = tmp_path / "src"
    # only what the source distribution is made of: never the venv, a demo workspace or a running lab
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for folder in ("orchestrator", "discovery", "playbooks"):
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "wheels"
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                           str(src), "-w", str(out)], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next(out.glob("pindah-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for playbook in PHASE_PLAYBOOKS:
        if (REPO / "playbooks" / playbook).is_file():  # every phase playbook in the tree is shipped
            assert f"orchestrator/playbooks/{playbook}" in names
    assert "orchestrator/playbooks/library/pindah_ec2_instance.py" in names
    assert "orchestrator/playbooks/tasks/sync.yml" in names
    assert "orchestrator/playbooks/__init__.py" in names
    # package data the code reads at run time
    assert "orchestrator/lab/data/distros.toml" in names
    assert "discovery/data/eol.toml" in names
    for asset in ("report.html", "report.js", "report.css"):  # the HTML report inlines these
        assert f"orchestrator/reporting/static/{asset}" in names

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    code = "from orchestrator.runner.shipped import playbooks_dir; print(playbooks_dir())"
    found = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONPATH": str(site)}, cwd=tmp_path)
    assert Path(found.stdout.strip()) == site / "orchestrator" / "playbooks"
    checkout = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                              env={"PYTHONPATH": str(src)}, cwd=tmp_path)
    assert Path(checkout.stdout.strip()) == src / "playbooks"
