"""CSV import: pure parsing/validation and the all-or-nothing store step."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from discovery.facts import HostFacts
from orchestrator.cli import app
from orchestrator.errors import InputError
from orchestrator.importers import (
    CsvImportError,
    import_dependencies,
    import_servers,
    parse_dependencies,
    parse_servers,
)
from orchestrator.store import Store
from orchestrator.workspace import Workspace, init_workspace

HEADER = "name,address,application,environment,criticality,role,site,agency,os,cpu_count,memory_mb,disk_gb\n"
GOOD = HEADER + (
    "web01,10.0.0.1,shop,prod,high,,jkt,finance,Debian 12,2,4096,40\n"
    "dns01,10.0.0.2,,prod,critical,shared-service,jkt,finance,,1,1024,10.5\n"
    "bare,,,,,,,,,,,\n"
)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws")


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_parse_good_servers_with_bom_and_crlf() -> None:
    raw = b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode()
    servers = parse_servers(raw, "s.csv")
    assert [s.name for s in servers] == ["web01", "dns01", "bare"]
    assert servers[0].cpu_count == 2 and servers[1].disk_gb == 10.5 and servers[1].role == "shared-service"
    assert servers[2].data() == {k: None for k in servers[2].data()}


def test_only_name_column_is_required_and_header_case_is_ignored() -> None:
    servers = parse_servers(b"NAME,Site\na,jkt\n", "s.csv")
    assert servers[0].site == "jkt"


def test_every_bad_row_is_reported_with_its_line() -> None:
    raw = HEADER + (
        "ok,10.0.0.1,,prod,low,,,,,1,1,1\n"            # line 2 fine
        ",10.0.0.2,,,,,,,,,,\n"                           # 3 empty name
        "b,,,staging,,,,,,,,\n"                           # 4 bad environment
        "c,,,,urgent,,,,,,,\n"                            # 5 bad criticality
        "d,,,,,hub,,,,,,\n"                               # 6 bad role
        "e,,,,,,,,,two,,\n"                               # 7 cpu not int
        "f,,,,,,,,,,-5,\n"                                # 8 memory negative
        "g,,,,,,,,,,,lots\n"                              # 9 disk not number
        "ok,,,,,,,,,,,\n"                                 # 10 duplicate name
        "h,too,few\n"                                     # 11 wrong field count
        "\n"                                              # 12 blank: skipped
        "i,,,,,,,,,,,nan\n"                               # 13 nan disk
    )
    with pytest.raises(CsvImportError) as info:
        parse_servers(raw.encode(), "s.csv")
    assert info.value.lines == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13]
    text = str(info.value)
    for fragment in ("name is empty", "environment must be one of", "criticality", "role", "cpu_count",
                     "memory_mb", "disk_gb", "duplicate server name 'ok' (first on line 2)", "expected 12 fields"):
        assert fragment in text
    assert isinstance(info.value, InputError) and info.value.source == "s.csv" and info.value.line == 3
    assert info.value.hint


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "the file is empty"),
    (b"\n\n", "the file is empty"),
    (HEADER.encode(), "header but no rows"),
    (b"address,site\n1,2\n", "missing column 'name'"),
    (b"name,colour\na,red\n", "unknown column 'colour'"),
    (b"name,site,site\na,b,c\n", "duplicate column 'site'"),
])
def test_header_and_empty_file_problems(raw: bytes, message: str) -> None:
    with pytest.raises(CsvImportError, match=message):
        parse_servers(raw, "s.csv")


def test_invalid_utf8_names_the_line() -> None:
    with pytest.raises(InputError) as info:
        parse_servers(b"name,site\na,ok\nb,J\xe9karta\n", "s.csv")
    assert info.value.line == 3 and "UTF-8" in str(info.value)


def test_dependencies_validate_endpoints_types_and_duplicates() -> None:
    raw = (b"source,target,port,weight\n"
           b"a,b,443,2\n"          # 2 fine
           b"a,ghost,443,1\n"      # 3 unknown target
           b"a,b,http,1\n"         # 4 port not int
           b"a,b,70000,1\n"        # 5 port out of range
           b"a,b,80,0\n"           # 6 weight must be positive
           b"a,a,80,1\n"           # 7 self loop
           b"a,b,443,3\n"          # 8 duplicate
           b"b,a,80,\n")           # 9 fine, weight defaults to 1
    with pytest.raises(CsvImportError) as info:
        parse_dependencies(raw, "d.csv", {"a", "b"})
    assert info.value.lines == [3, 4, 5, 6, 7, 8]
    deps = parse_dependencies(b"source,target,port\nb,a,80\n", "d.csv", {"a", "b"})
    assert deps[0].weight == 1.0


def test_bad_servers_file_stores_nothing(ws: Workspace, tmp_path: Path) -> None:
    path = _write(tmp_path, "s.csv", GOOD + "x,,,,,,,,,bad,,\n")
    with Store.open(ws.db_path) as store:
        with pytest.raises(CsvImportError):
            import_servers(store, path)
        assert store.servers() == {}


def test_good_files_are_stored_and_dependencies_may_use_discovered_hosts(ws: Workspace, tmp_path: Path) -> None:
    with Store.open(ws.db_path) as store:
        store.save_snapshot([HostFacts(name="found", address="10.0.0.9", reachable=True)], source="test")
        assert import_servers(store, _write(tmp_path, "s.csv", GOOD)) == 3
        deps = _write(tmp_path, "d.csv", "source,target,port,weight\nweb01,dns01,53,4\nfound,web01,80,1\n")
        assert import_dependencies(store, deps) == 2
        assert store.servers()["web01"]["application"] == "shop"
        assert store.dependencies() == [("found", "web01", 80, 1.0), ("web01", "dns01", 53, 4.0)]
        bad = _write(tmp_path, "d2.csv", "source,target,port,weight\nweb01,bare,22,1\nweb01,nobody,22,1\n")
        with pytest.raises(CsvImportError):
            import_dependencies(store, bad)
        assert len(store.dependencies()) == 2


def test_cli_import_reports_every_bad_line_and_exits_1(ws: Workspace, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = _write(tmp_path, "s.csv", HEADER + "a,,,prod,,,,,,x,,\nb,,,dev,,,,,,,,\n")
    result = runner.invoke(app, ["--workspace", str(ws.root), "import", "servers", str(bad)])
    assert result.exit_code == 1
    assert isinstance(result.exception, CsvImportError) and result.exception.lines == [2, 3]
    good = _write(tmp_path, "g.csv", GOOD)
    result = runner.invoke(app, ["--workspace", str(ws.root), "import", "servers", str(good)])
    assert result.exit_code == 0, result.output
    assert "imported 3 server(s)" in result.output


def test_names_addresses_and_text_are_checked() -> None:
    raw = (b"name,address,site\n"
           b"good-1.x,10.0.0.1,jkt\n"        # 2 fine
           b"bad name,10.0.0.2,jkt\n"        # 3 space in name
           b"$(reboot),10.0.0.3,jkt\n"       # 4 shell metacharacters
           b"c,not an address,jkt\n"         # 5 bad address
           b"d,db.Example.go.id,jkt\n"       # 6 fine, a DNS name
           b"e,::1,\"a\x07b\"\n"             # 7 control character in site
           b"f,300.1.1.1,x\n")               # 8 looks like an IP address but is not one
    with pytest.raises(CsvImportError) as info:
        parse_servers(raw, "s.csv")
    assert info.value.lines == [3, 4, 5, 7, 8]
    good = parse_servers(b"name,address\nd,db.Example.go.id\ne,::1\n", "s.csv")
    assert [s.address for s in good] == ["db.example.go.id", "::1"]
