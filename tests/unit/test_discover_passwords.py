"""Passwords typed at a prompt: asked once per credential set before probing, kept in memory only, refused
without a terminal."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest

from orchestrator.discover import ASK_PASS, ask_passwords, target_of
from orchestrator.errors import InputError
from orchestrator.inventory import load_inventory

SECRET = "typed-Pa55-word"

INVENTORY = """\
all:
  children:
    legacy:
      vars:
        pindah_credentials: [{user: ops, password_prompt: true}]
      hosts:
        a: {ansible_user: root}
        b: {}
    other:
      hosts:
        c: {pindah_credentials: [{user: ops, password_prompt: true}, {user: dba, password_prompt: true}]}
        d: {}
"""


@pytest.fixture
def hosts(tmp_path: Path) -> list:  # type: ignore[type-arg]
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY)
    return load_inventory(path)


def test_each_credential_set_is_asked_once_whatever_the_hosts(hosts: list) -> None:  # type: ignore[type-arg]
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return SECRET + str(len(asked))

    typed = ask_passwords(hosts, ask_pass=True, prompt=prompt)
    assert asked == ["SSH password (--ask-pass): ", "SSH password for pindah_credentials user ops: ",
                     "SSH password for pindah_credentials user dba: "]
    targets = {h.name: target_of(h, typed) for h in hosts}
    a_logins = targets["a"].logins()
    assert [(c.user, c.password.reveal() if c.password else None) for c in a_logins] == [
        ("ops", SECRET + "2"), ("root", SECRET + "1")]  # the set's own user; --ask-pass last, as the host's user
    assert [c.user for c in targets["c"].logins()] == ["ops", "dba", None]
    assert [c.label for c in targets["d"].logins()] == [ASK_PASS]
    shown = repr(targets) + " ".join(c.describe() for t in targets.values() for c in t.logins())
    assert SECRET not in shown and "typed for pindah_credentials user ops" in shown
    with pytest.raises(TypeError):
        pickle.dumps(a_logins[0].password)


def test_already_typed_passwords_are_not_asked_again(hosts: list) -> None:  # type: ignore[type-arg]
    first = ask_passwords(hosts, prompt=lambda _: SECRET)
    assert ask_passwords(hosts, known=first, prompt=lambda _: pytest.fail("asked twice")) == first


def test_without_a_terminal_a_prompt_is_an_input_error_naming_the_set(hosts: list,  # type: ignore[type-arg]
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(InputError) as caught:
        ask_passwords(hosts)
    assert "pindah_credentials user ops" in str(caught.value) and "no terminal" in str(caught.value)
    assert "password_env" in caught.value.hint
    with pytest.raises(InputError, match="--ask-pass"):
        ask_passwords([], ask_pass=True)
    assert ask_passwords([h for h in hosts if h.name == "d"]) == {}  # nothing to ask: no terminal needed


def test_an_empty_password_is_refused(hosts: list) -> None:  # type: ignore[type-arg]
    with pytest.raises(InputError, match="empty password"):
        ask_passwords(hosts, prompt=lambda _: "")


@pytest.mark.parametrize("entry", ["{password_prompt: true}", "{user: a, password_prompt: true, agent: true}",
                                   "{user: a, password_prompt: true, password_env: X}"])
def test_a_prompted_set_takes_only_a_user(tmp_path: Path, entry: str) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(f"all:\n  hosts:\n    h1:\n      pindah_credentials: [{entry}]\n")
    with pytest.raises(InputError, match="password_prompt takes only a user"):
        load_inventory(path)
