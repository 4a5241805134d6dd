"""Bad input everywhere: malformed inventories (YAML/INI) and CSVs, through the real CLI on a real workspace.

Each case must end with exit 1, a message naming the file (and the line where there is one) and a hint,
and leave the store exactly as it was (nothing stored half-way).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

from orchestrator.importers import parse_servers
from orchestrator.workspace import Workspace, init_workspace

AREA = "bad input"
INVENTORY_CASES: dict[str, tuple[str, bytes, int | None]] = {
    # name: (file name, bytes, line the error must name or None)
    "empty INI inventory": ("empty.ini", b"", None),
    "empty YAML inventory": ("empty.yml", b"", None),
    "INI inventory in Latin-1": ("latin1.ini", "[web]\nh\xe9te ansible_host=10.0.0.1\n".encode("latin1"), 2),
    "YAML inventory in UTF-16": ("utf16.yml", "all:\n  hosts:\n    a:\n".encode("utf-16"), 1),
    "binary garbage as inventory": ("random.ini", bytes(range(256)) * 4, 2),
    "NUL byte in an INI host line": ("nul.ini", b"[web]\nh1\x00 ansible_host=10.0.0.1\n", 2),
    "unterminated INI section": ("section.ini", b"[web\nh1\n", 1),
    "unknown INI section kind": ("kind.ini", b"[web:hostz]\nh1\n", 1),
    "unclosed quote in INI host vars": ("quote.ini", b"[web]\nh1 ansible_host='10.0.0.1\n", 2),
    "INI var line without '='": ("vars.ini", b"[web]\nh1\n[web:vars]\njust_a_word\n", 4),
    "tab-indented YAML": ("tabs.yml", b"all:\n\thosts:\n", 2),
    "YAML hosts as a list": ("list.yml", b"all:\n  hosts:\n    - a\n    - b\n", 2),
    "unknown YAML group key": ("keys.yml", b"all:\n  hostz:\n    a:\n", 2),
    "duplicate host name in one YAML group": (
        "dupe.yml", b"all:\n  hosts:\n    a:\n      ansible_host: 10.0.0.1\n    a:\n      ansible_host: 10.0.0.2\n", 5),
    "self-referencing YAML alias (recursion)": ("alias.yml", b"all: &a\n  children:\n    x: *a\n", 1),
    "port out of range": ("port.ini", b"[web]\nh1 ansible_port=99999\n", None),
    "port not a number": ("portnan.ini", b"[web]\nh1 ansible_port=ssh\n", None),
    "host range naming 10^9 hosts": ("range.ini", b"[web]\nh[1:999999999]\n", 2),
    "ANSI escape in a YAML host name": ("ansi.yml", b'all:\n  hosts:\n    "a\\e[2J":\n', None),
    "pindah_credentials of the wrong type": (
        "creds.yml", b"all:\n  hosts:\n    a:\n      pindah_credentials: [{password_env: 5}]\n", None),
}

CSV_CASES: dict[str, tuple[bytes, int | None, str]] = {
    # name: (bytes, line, a word the message must hold)
    "empty CSV": (b"", None, "empty"),
    "CSV header only": (b"name,site\n", None, "no rows"),
    "CSV unknown column": (b"name,colour\nh1,red\n", 1, "unknown column 'colour'"),
    "CSV duplicate column": (b"name,site,site\nh1,a,b\n", 1, "duplicate column"),
    "CSV missing required column": (b"site\nJakarta\n", 1, "missing column 'name'"),
    "CSV duplicate server names": (b"name\nh1\nh2\nh1\n", 4, "duplicate server name"),
    "CSV wrong field count": (b"name,site\nh1,a,extra\n", 2, "expected 2 fields"),
    "CSV in Latin-1": ("name,site\nh1,Tangerang S\xe9latan\n".encode("latin1"), 2, "not valid UTF-8"),
    "CSV in UTF-16": ("name\nh1\n".encode("utf-16"), 1, "not valid UTF-8"),
    "CSV field over 128 KiB": (b"name,application\nh1," + b"x" * 200_000 + b"\n", 2, "field larger"),
    "CSV unterminated quote": (b'name,site\nh1,"unterminated\n', 2, "not readable as CSV"),
    "CSV shell metacharacters in a name": (b"name\nh1;$(touch x)\n", 2, "must start with a letter"),
    "CSV control characters in text": (b"name,site\nh1,a\x1b[2Jb\n", 2, "control characters"),
    "CSV absurd cpu_count": (b"name,cpu_count\nh1,99999999999999999999\n", 2, "cpu_count must be"),
    "CSV NaN disk": (b"name,disk_gb\nh1,nan\n", 2, "disk_gb must be"),
}


Pindah = Callable[..., CliResult]


@pytest.fixture
def ws(tmp_path: Path, pindah: Pindah) -> Workspace:
    workspace = init_workspace(tmp_path / "ws")
    (tmp_path / "good.csv").write_text("name,site\nkeep-01,Jakarta\n")
    result = pindah("--workspace", str(workspace.root), "import", "servers", str(tmp_path / "good.csv"))
    assert result.exit_code == 0, result.output
    return workspace


def _dump(ws: Workspace) -> list[tuple[object, ...]]:
    with sqlite3.connect(ws.db_path) as conn:
        return [row for table in ("snapshots", "host_facts", "servers", "dependencies")
                for row in conn.execute(f"SELECT * FROM {table}").fetchall()]


@pytest.mark.parametrize("case", sorted(INVENTORY_CASES))
@pytest.mark.fault(AREA, "malformed inventories (empty, wrong encoding, binary, NUL, bad INI/YAML syntax, "
                   "duplicate host, alias recursion, bad port, 10^9-host range, control characters, bad "
                   "credential types) given to `pindah discover`",
                   "exit 1, message names the file (and line where there is one) with a hint; no snapshot "
                   "stored, store rows unchanged; no traceback")
def test_malformed_inventory_is_refused_naming_file_and_line(case: str, ws: Workspace, tmp_path: Path, pindah: Pindah) -> None:
    name, raw, line = INVENTORY_CASES[case]
    path = tmp_path / name
    path.write_bytes(raw)
    before = _dump(ws)
    result = pindah("--workspace", str(ws.root), "discover", "-i", str(path), "--timeout", "1")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    where = f"{path}:{line}:" if line is not None else f"{path}"
    assert where in result.output, result.output
    assert "hint:" in result.output
    assert _dump(ws) == before


@pytest.mark.parametrize("case", sorted(CSV_CASES))
@pytest.mark.fault(AREA, "malformed server CSVs (empty, header only, unknown/duplicate/missing columns, "
                   "duplicate names, wrong field count, Latin-1, UTF-16, 200 KB field, unterminated quote, shell "
                   "metacharacters, control characters, absurd numbers) given to `pindah import servers`",
                   "exit 1, every bad line listed with the file name, a hint, nothing imported (store rows "
                   "unchanged)")
def test_malformed_csv_is_refused_and_nothing_stored(case: str, ws: Workspace, tmp_path: Path, pindah: Pindah) -> None:
    raw, line, word = CSV_CASES[case]
    path = tmp_path / "servers.csv"
    path.write_bytes(raw)
    before = _dump(ws)
    result = pindah("--workspace", str(ws.root), "import", "servers", str(path))
    assert result.exit_code == 1, result.output
    assert (f"{path}:{line}:" if line is not None else str(path)) in result.output, result.output
    assert word in result.output.replace("\n", " ")
    assert "hint:" in result.output
    assert _dump(ws) == before


@pytest.mark.fault(AREA, "one bad line at the end of a 50,000-row servers CSV",
                   "refused as a whole naming line 50002; none of the 50,000 good rows stored")
def test_huge_csv_with_one_bad_line_stores_nothing(ws: Workspace, tmp_path: Path, pindah: Pindah) -> None:
    rows = "".join(f"srv-{i:05d},Jakarta\n" for i in range(50_000))
    path = tmp_path / "huge.csv"
    path.write_text("name,site\n" + rows + "bad name,Jakarta\n")
    before = _dump(ws)
    result = pindah("--workspace", str(ws.root), "import", "servers", str(path))
    assert result.exit_code == 1
    assert f"{path}:50002:" in result.output
    assert _dump(ws) == before


@pytest.mark.fault(AREA, "dependencies CSV naming unknown servers, self-loops and bad ports",
                   "exit 1 listing each bad line; no dependency stored")
def test_bad_dependencies_csv_stores_nothing(ws: Workspace, tmp_path: Path, pindah: Pindah) -> None:
    path = tmp_path / "deps.csv"
    path.write_text("source,target,port\nkeep-01,ghost,80\nkeep-01,keep-01,80\nkeep-01,ghost,70000\n")
    before = _dump(ws)
    result = pindah("--workspace", str(ws.root), "import", "dependencies", str(path))
    assert result.exit_code == 1
    text = result.output.replace("\n", " ")
    for line in (2, 3, 4):
        assert f"line {line}:" in text
    assert _dump(ws) == before


@pytest.mark.fault(AREA, "huge valid inventory (20,000 hosts via ranges and vars)",
                   "parsed completely, every host with its group vars; no error")
def test_huge_valid_inventory_loads(tmp_path: Path) -> None:
    from orchestrator.inventory import load_inventory

    path = tmp_path / "big.ini"
    path.write_text("[web]\nweb[00001:10000] ansible_user=ops\n[db]\ndb[00001:10000]\n[db:vars]\nansible_port=2222\n")
    hosts = load_inventory(path)
    assert len(hosts) == 20_000
    assert {h.port for h in hosts if h.name.startswith("db")} == {2222}
    assert {h.user for h in hosts if h.name.startswith("web")} == {"ops"}


@pytest.mark.fault(AREA, "servers CSV with a BOM, CRLF line ends, quoted commas and blank lines",
                   "imported (the refusals are not a parser refusing everything)")
def test_parse_servers_accepts_what_it_should() -> None:
    """The refusals above are not a parser refusing everything: a well-formed file with odd but valid
    values (BOM, CRLF, quoted commas, blank lines) imports."""
    servers = parse_servers(b'\xef\xbb\xbfname,site,cpu_count\r\nh1,"Jakarta, Pusat",4\r\n\r\nh2,Bandung,2\r\n', "ok.csv")
    assert [(s.name, s.site, s.cpu_count) for s in servers] == [("h1", "Jakarta, Pusat", 4), ("h2", "Bandung", 2)]

