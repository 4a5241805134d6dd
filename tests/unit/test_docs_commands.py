"""Every `pindah ...` command line in the approval and CI docs parses with the real command line."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from orchestrator.cli import app

DOCS = Path(__file__).resolve().parents[2] / "docs"
_START = re.compile(r"(?:^|(?<=[\s|]))pindah\s")
_END = re.compile(r"\s(?:>|\|\||&&|#)\s")


def commands(doc: Path) -> list[tuple[int, list[str]]]:
    """(line number, argv after 'pindah') for each pindah command in the document's fenced blocks."""
    found, fenced = [], False
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = _START.search(line) if fenced else None
        if match:
            text = _END.split(line[match.end():])[0]
            found.append((number, shlex.split(text)))
    return found


def parse(argv: list[str]) -> None:
    """Dry parsing through the command groups down to the leaf command (nothing runs); raises on bad usage."""
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("pindah", list(argv))
    while hasattr(command, "resolve_command"):  # a group: its subcommand is the first of its leftover args
        name, sub, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert sub is not None and name is not None
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)


@pytest.mark.parametrize("name", ["ci.md", "approval.md"])
def test_every_documented_command_parses(name: str) -> None:
    found = commands(DOCS / name)
    assert len(found) >= 8
    for number, argv in found:
        try:
            parse(argv)
        except typer.TyperException as exc:
            pytest.fail(f"docs/{name}:{number}: pindah {shlex.join(argv)}: {exc}")


def test_the_pipeline_runs_discover_check_and_report() -> None:
    verbs = [" ".join(argv[:2]) for _, argv in commands(DOCS / "ci.md")]
    for step in ("discover -i", "plan check", "report --plan", "audit verify", "export csv"):
        assert verbs.count(step) >= 2, step  # in both the GitHub and the GitLab example


@pytest.mark.parametrize("argv", [["plan", "check"], ["plan", "check", "p", "--junitt", "x"],
                                  ["export", "ansible-inventory", "--plan", "p"], ["audit", "verfy"]])
def test_a_wrong_command_line_fails_to_parse(argv: list[str]) -> None:
    with pytest.raises(typer.TyperException):
        parse(argv)


def test_pipeline_examples_are_valid_yaml() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", (DOCS / "ci.md").read_text(encoding="utf-8"), re.DOTALL)
    github, gitlab = (yaml.safe_load(b) for b in blocks)
    assert github[True]["schedule"][0]["cron"]  # YAML 1.1 reads the key 'on' as true
    steps = github["jobs"]["drift"]["steps"]
    assert [s.get("name") for s in steps][:3] == ["discover", "audit log intact", "plan check"]
    assert gitlab["drift"]["artifacts"]["reports"]["junit"] == "plan-check.xml"
