"""Hostile facts: a scanned host whose commands answer with shell metacharacters, quotes, newlines, ANSI
escape sequences, very long strings and invalid UTF-8, through the real discovery path and everything after.

A real sshd runs every session under a ForceCommand that puts a folder of shims first on PATH:
``hostname``, ``ps``, ``ss``, ``dpkg-query``, ``service``, ``crontab``, ``df`` and ``cat`` (for
/etc/os-release only) print hostile output; the real probe script, transport and parsers read it. Then the
CLI lists, exports, diffs, plans, shows, explains and reports. Nothing may run a payload (``touch`` of a
marker file), put an escape sequence on the terminal, or break the plan YAML / Markdown / report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import CliResult, kill_tree, needs_root_sshd
from sshd_daemon import Daemon, free_port, start_sshd

from orchestrator.plan import dump_plan, load_plan
from orchestrator.store import Store
from orchestrator.workspace import Workspace, init_workspace

Pindah = Callable[..., CliResult]
pytestmark = pytest.mark.integration  # real sshd / ansible-runner; needs root
AREA = "hostile facts"
ESCAPES = b"\x1b]0;pwned\x07\x1b[2J\x1b[31m\xc2\x9b31m\r\x08"  # title, clear, colour, C1 CSI, CR, BS
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # anything a terminal acts on (tab, newline allowed)


def payload(mark: Path) -> bytes:
    """Every way a shell could be made to run ``touch mark`` if the text reached it unquoted."""
    return (f"$(touch {mark})`touch {mark}`;touch {mark}&&touch {mark}|touch {mark}${{IFS}}'\"\\").encode()


def shims(mark: Path) -> dict[str, bytes]:
    """What each shimmed command prints (the shim ignores its arguments, cat passes other files through)."""
    bad = payload(mark)
    word = f"x$(touch${{IFS}}{mark})`touch${{IFS}}{mark}`;".encode()  # no spaces: one field where fields split
    long = b"L" * 100_000
    return {
        "hostname": b"host-" + bad + ESCAPES + b"\xff\xfe\n",
        "ps": (b"nginx" + word + ESCAPES + b" /usr/sbin/nginx -g " + bad + b"\n"
               b"java -jar /opt/app.jar " + long + b"\n" + b"\xff\xfe\xfd /bin/\xc3(\n"),
        "ss": (b"LISTEN 0 128 0.0.0.0:80 0.0.0.0:* users:((\"evil" + word + ESCAPES + b"\",pid=1,fd=3))\n"
               b"ESTAB 0 0 127.0.0.1:80 127.0.0.1:5432 users:((\"" + bad + b"\",pid=2,fd=4))\n"
               b"ESTAB 0 0 127.0.0.1:41000 127.0.0.1:5432 users:((\"" + long + b"\",pid=3,fd=5))\n"),
        "dpkg-query": (b"bash\t5.2\tamd64\tinstall ok installed\n"
                       b"pkg" + word + ESCAPES + b"\t1.0" + bad + b"\tamd64\tinstall ok installed\n"
                       b"\xff\xfe\tinvalid-utf8\tamd64\tinstall ok installed\n"),
        "service": b" [ + ]  svc" + word + ESCAPES + b"\n [ - ]  " + long + b"\n",
        "crontab": b"* * * * * /opt/job " + bad + ESCAPES + b"\n",
        "df": (b"Filesystem Type 1024-blocks Used Available Capacity Mounted on\n"
               b"/dev/sda1 ext4 1000000 10 999990 1% /srv/data" + word + ESCAPES + b"\n"),
        "os-release": (b'ID="deb' + word + b'\x1b[2J"\nVERSION_ID="12\x1b]0;x\x07"\nNAME="Evil' + bad + b'"\n'
                       b'PRETTY_NAME="' + long + b'"\n'),
    }


@dataclass
class HostileHost:
    daemon: Daemon
    hostile_port: int
    mark: Path
    folder: Path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileHost]:
    reason = needs_root_sshd()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("hostile")
    mark = folder / "pwned"
    shim_dir = folder / "shim"
    shim_dir.mkdir()
    for name, data in shims(mark).items():
        (folder / f"{name}.out").write_bytes(data)
        if name == "os-release":
            continue
        (shim_dir / name).write_text(f"#!/bin/sh\nexec /bin/cat {folder / name}.out\n")
        (shim_dir / name).chmod(0o755)
    (shim_dir / "cat").write_text(
        "#!/bin/sh\n"
        f"case \"$*\" in /etc/os-release|/usr/lib/os-release) exec /bin/cat {folder}/os-release.out;; esac\n"
        "exec /bin/cat \"$@\"\n")
    (shim_dir / "cat").chmod(0o755)
    (folder / "force.sh").write_text(f"PATH={shim_dir}:$PATH; export PATH\nexec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n")
    port = free_port()
    daemon = start_sshd(folder / "sshd", extra_config=(
        f"ListenAddress 127.0.0.1:{port}\nMatch LocalPort {port}\n    ForceCommand /bin/sh {folder}/force.sh\n"))
    key_type, key_b64 = daemon.host_pub.read_text().split()[:2]
    with daemon.known_hosts.open("a") as fh:
        fh.write(f"[127.0.0.1]:{port} {key_type} {key_b64}\n")
    try:
        yield HostileHost(daemon, port, mark, folder)
    finally:
        kill_tree(daemon.proc.pid)
        daemon.stop()


def _inventory(path: Path, daemon: Daemon, port: int) -> Path:
    path.write_text(f"all:\n  hosts:\n    web-01:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n"
                    f"      ansible_user: root\n      ansible_ssh_private_key_file: {daemon.good_key}\n"
                    f"    db-01:\n      ansible_host: 127.0.0.1\n      ansible_port: {daemon.port}\n"
                    f"      ansible_user: root\n      ansible_ssh_private_key_file: {daemon.good_key}\n")
    return path


@pytest.fixture(scope="module")
def outputs(hostile: HostileHost, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every CLI output and file made from the hostile host, by command (run once for the module)."""
    from _pytest.monkeypatch import MonkeyPatch

    root = tmp_path_factory.mktemp("hostile-ws")
    ws = init_workspace(root / "ws")
    d = hostile.daemon
    plain = _inventory(root / "plain.yml", d, d.port)  # web-01 honest first, hostile second: a diff to show
    bad = _inventory(root / "bad.yml", d, hostile.hostile_port)
    results: dict[str, str] = {}
    patch = MonkeyPatch()
    try:
        run = _cli(patch)
        base = ["--workspace", str(ws.root)]
        for key, args in (
            ("discover plain", [*base, "discover", "-i", str(plain), "--known-hosts", str(d.known_hosts)]),
            ("discover hostile", [*base, "discover", "-i", str(bad), "--known-hosts", str(d.known_hosts)]),
            ("discover hostile --json", [*base, "discover", "-i", str(bad), "--known-hosts", str(d.known_hosts),
                                         "--json"]),
            ("inventory list", [*base, "inventory", "list"]),
            ("inventory export", [*base, "inventory", "export"]),
            ("inventory diff 1 2", [*base, "inventory", "diff", "1", "2"]),
            ("plan create", [*base, "plan", "create", "--id", "hostile"]),
            ("plan show", [*base, "plan", "show", "hostile"]),
            ("plan explain", [*base, "plan", "explain", "hostile", "web-01"]),
            ("report", [*base, "report", "-o", str(root / "report.md")]),
        ):
            code, text = run(args)
            assert code in (0, 3), (key, code, text[-2000:])
            results[key] = text
    finally:
        patch.undo()
    for path in (ws.plans_dir / "hostile.yaml", ws.plans_dir / "hostile.md", root / "report.md"):
        results[f"file {path.name}"] = path.read_text(encoding="utf-8")
    results["workspace"] = str(ws.root)
    return results


def _cli(patch: pytest.MonkeyPatch) -> Callable[[list[str]], tuple[int, str]]:
    import io
    import sys

    from orchestrator.cli import main

    def run(args: list[str]) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        patch.setattr(sys, "argv", ["pindah", *args])
        patch.setattr(sys, "stdout", out)
        patch.setattr(sys, "stderr", err)
        patch.setenv("COLUMNS", "400")
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            patch.setattr(sys, "stdout", sys.__stdout__)
            patch.setattr(sys, "stderr", sys.__stderr__)
        return code, out.getvalue() + err.getvalue()

    return run


@pytest.mark.fault(AREA, "hostname, process, listening/connection process, package, service, cron, mount "
                   "path and os-release values carrying $(touch), backticks, ;, &&, |, quotes, ANSI/OSC/C1 "
                   "escapes, CR/BS, 100 KB strings and invalid UTF-8, discovered from a real sshd",
                   "no payload ran on the host or the controller (marker file absent); the hostile values did "
                   "reach the store (the path was exercised)")
def test_no_payload_runs_and_the_values_were_stored(hostile: HostileHost, outputs: dict[str, str]) -> None:
    assert not hostile.mark.exists(), "a hostile fact reached a shell"
    assert not list(hostile.folder.glob("pwned*"))
    with Store.open(Workspace(Path(outputs["workspace"])).db_path) as store:
        facts = {f.name: f for f in store.latest_facts()}
    web = facts["web-01"]
    assert web.reachable, web.errors
    assert web.hostname and "touch" in web.hostname
    assert any("touch" in p.name for p in web.packages)
    assert any("touch" in s.name for s in web.services)
    assert any(p.startswith("nginx") and "touch" in p for p in web.processes)
    assert any(m.mountpoint.startswith("/srv/data") and "touch" in m.mountpoint for m in web.mounts)


@pytest.mark.parametrize("command", ["discover hostile", "discover hostile --json", "inventory list",
                                     "inventory export", "inventory diff 1 2", "plan create", "plan show",
                                     "plan explain", "report"])
@pytest.mark.fault(AREA, "terminal output of every command showing those facts (discover, --json, inventory "
                   "list/export/diff, plan create/show/explain, report)",
                   "no control character a terminal would act on (ESC, BEL, CR, BS, C1) in the output")
def test_no_escape_sequence_reaches_the_terminal(command: str, outputs: dict[str, str]) -> None:
    found = CONTROL.findall(outputs[command])
    assert not found, f"{command} printed control characters {sorted(set(found))!r}"


@pytest.mark.parametrize("name", ["hostile.yaml", "hostile.md", "report.md"])
@pytest.mark.fault(AREA, "plan YAML, plan Markdown and Markdown report made from those facts",
                   "no raw control characters; the YAML loads back to the identical plan and dumps byte-identical")
def test_files_hold_no_control_characters_and_yaml_round_trips(name: str, outputs: dict[str, str]) -> None:
    text = outputs[f"file {name}"]
    assert not CONTROL.findall(text), f"{name} holds control characters"
    if name.endswith(".yaml"):
        plans = Path(outputs["workspace"]) / "plans"
        plan = load_plan(plans, "hostile")
        assert dump_plan(plan) == text
        assert yaml.safe_load(text)["id"] == "hostile"
