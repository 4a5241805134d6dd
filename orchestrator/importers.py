"""pindah's own CSV import formats: servers and dependencies.

Parsing and validation are pure (bytes in, records or one aggregate error out); storing is a
separate step that only runs once the whole file validated, in one transaction.

servers:      name,address,application,environment,criticality,role,site,agency,os,cpu_count,memory_mb,disk_gb
dependencies: source,target,port,weight
"""

from __future__ import annotations

import csv
import io
import ipaddress
import math
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from orchestrator.errors import InputError
from orchestrator.store import Store

SERVER_COLUMNS = ("name", "address", "application", "environment", "criticality", "role", "site", "agency",
                  "os", "cpu_count", "memory_mb", "disk_gb")
SERVER_REQUIRED = ("name",)
DEPENDENCY_COLUMNS = ("source", "target", "port", "weight")
DEPENDENCY_REQUIRED = ("source", "target", "port")
ENVIRONMENTS = ("prod", "nonprod")
CRITICALITIES = ("low", "medium", "high", "critical")
ROLES = ("shared-service",)
MAX_REPORTED = 50
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DNS_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


class ImportedServer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    address: str | None = None
    application: str | None = None
    environment: str | None = None
    criticality: str | None = None
    role: str | None = None
    site: str | None = None
    agency: str | None = None
    os: str | None = None
    cpu_count: int | None = None
    memory_mb: int | None = None
    disk_gb: float | None = None

    def data(self) -> dict[str, Any]:
        """What the store keeps for this server (everything but the name)."""
        return self.model_dump(exclude={"name"})


class ImportedDependency(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    target: str
    port: int
    weight: float = 1.0


@dataclass(frozen=True)
class RowProblem:
    line: int | None
    message: str


class CsvImportError(InputError):
    """A CSV file failed validation; ``problems`` lists every bad line. Nothing was stored."""

    def __init__(self, source: str, problems: list[RowProblem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: p.line or 0))
        shown = [f"  line {p.line}: {p.message}" if p.line else f"  {p.message}"
                 for p in self.problems[:MAX_REPORTED]]
        more = len(self.problems) - MAX_REPORTED
        if more > 0:
            shown.append(f"  ... and {more} more")
        first = self.problems[0].line if self.problems else None
        super().__init__(f"{len(self.problems)} problem(s), nothing was imported:\n" + "\n".join(shown),
                         source=source, line=first,
                         hint="fix every listed line and import the file again")

    @property
    def lines(self) -> list[int]:
        return sorted({p.line for p in self.problems if p.line is not None})


# -- reading ---------------------------------------------------------------------------------
def decode(raw: bytes, source: str) -> str:
    """UTF-8 text without a BOM; invalid bytes are an InputError naming the line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                         source=source, line=line,
                         hint="save the file as UTF-8 (e.g. 'iconv -f latin1 -t utf-8')") from exc


class _Unreadable(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with their line; a malformed CSV (unterminated quote, a field over MAX_FIELD) stops here."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _Unreadable(reader.line_num, f"not readable as CSV: {exc}") from None
        if not any(f.strip() for f in fields):
            continue  # blank line
        yield reader.line_num, [f.strip() for f in fields]


def _header(rows: Iterator[tuple[int, list[str]]], columns: tuple[str, ...], required: tuple[str, ...],
            problems: list[RowProblem]) -> tuple[int, list[str]] | None:
    first = next(rows, None)
    if first is None:
        problems.append(RowProblem(None, "the file is empty: expected a header line "
                                         f"'{','.join(columns)}'"))
        return None
    line, names = first
    names = [n.lower() for n in names]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(RowProblem(line, f"duplicate column {name!r}"))
        elif name not in columns:
            problems.append(RowProblem(line, f"unknown column {name!r} (known: {', '.join(columns)})"))
        seen.add(name)
    for name in required:
        if name not in seen:
            problems.append(RowProblem(line, f"missing column {name!r}"))
    return (line, names) if not problems else None


def _records(text: str, columns: tuple[str, ...], required: tuple[str, ...],
             problems: list[RowProblem]) -> list[tuple[int, dict[str, str]]]:
    rows = _rows(text)
    out: list[tuple[int, dict[str, str]]] = []
    try:
        header = _header(rows, columns, required, problems)
        if header is None:
            return []
        _, names = header
        for line, fields in rows:
            if len(fields) != len(names):
                problems.append(RowProblem(line, f"expected {len(names)} fields, found {len(fields)}"))
                continue
            out.append((line, dict(zip(names, fields, strict=True))))
    except _Unreadable as exc:
        problems.append(RowProblem(exc.line, exc.message))
        return []
    if not out and not problems:
        problems.append(RowProblem(None, "the file has a header but no rows"))
    return out


# -- field checks ------------------------------------------------------------------------------
def _int(value: str, column: str, minimum: int, maximum: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{column} must be a whole number, got {value!r}") from None
    if number < minimum or (maximum is not None and number > maximum):
        top = f"..{maximum}" if maximum is not None else " or more"
        raise ValueError(f"{column} must be {minimum}{top}, got {number}")
    return number


def _float(value: str, column: str, *, positive: bool = False) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{column} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise ValueError(f"{column} must be a {'positive' if positive else 'non-negative'} number, "
                         f"got {value!r}")
    return number


def _name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(f"name {value!r} must start with a letter or digit and hold only letters, digits, "
                         "'.', '_' or '-'")
    return value


def _address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        if DNS_RE.match(value) and not value.replace(".", "").isdigit():
            return value.lower()
    raise ValueError(f"address must be an IP address or a DNS name, got {value!r}")


def _text(column: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError(f"{column} contains control characters")
        return value
    return check


def _enum(value: str, column: str, allowed: tuple[str, ...]) -> str:
    if value.lower() not in allowed:
        raise ValueError(f"{column} must be one of {'|'.join(allowed)} (or empty), got {value!r}")
    return value.lower()


_SERVER_FIELDS: dict[str, Callable[[str], Any]] = {
    "name": _name,
    "address": _address,
    **{column: _text(column) for column in ("application", "site", "agency", "os")},
    "environment": lambda v: _enum(v, "environment", ENVIRONMENTS),
    "criticality": lambda v: _enum(v, "criticality", CRITICALITIES),
    "role": lambda v: _enum(v, "role", ROLES),
    "cpu_count": lambda v: _int(v, "cpu_count", 1, 65536),
    "memory_mb": lambda v: _int(v, "memory_mb", 1, 2**40),
    "disk_gb": lambda v: _float(v, "disk_gb"),
}


def _server(record: dict[str, str]) -> tuple[ImportedServer | None, list[str]]:
    errors: list[str] = []
    values: dict[str, Any] = {}
    for column, value in record.items():
        if not value:
            continue
        check = _SERVER_FIELDS.get(column)
        try:
            values[column] = check(value) if check else value
        except ValueError as exc:
            errors.append(str(exc))
    if not record.get("name"):
        errors.insert(0, "name is empty")
    return (ImportedServer(**values) if not errors else None), errors


# -- public parsers ----------------------------------------------------------------------------
def parse_servers(raw: bytes, source: str) -> list[ImportedServer]:
    """Every server of a servers CSV, or CsvImportError listing every bad line."""
    problems: list[RowProblem] = []
    servers: list[ImportedServer] = []
    first_line: dict[str, int] = {}
    for line, record in _records(decode(raw, source), SERVER_COLUMNS, SERVER_REQUIRED, problems):
        server, errors = _server(record)
        name = record.get("name", "")
        if name and name in first_line:
            errors.append(f"duplicate server name {name!r} (first on line {first_line[name]})")
        elif name:
            first_line[name] = line
        problems.extend(RowProblem(line, e) for e in errors)
        if server is not None and not errors:
            servers.append(server)
    if problems:
        raise CsvImportError(source, problems)
    return servers


def _dependency(record: dict[str, str], known: Collection[str]) -> tuple[ImportedDependency | None, list[str]]:
    errors: list[str] = []
    for end in ("source", "target"):
        name = record.get(end, "")
        if not name:
            errors.append(f"{end} is empty")
        elif name not in known:
            errors.append(f"{end} {name!r} is not a known server (import it or discover it first)")
    if record.get("source") and record.get("source") == record.get("target"):
        errors.append("source and target are the same server")
    port, weight = 0, 1.0
    try:
        port = _int(record.get("port", ""), "port", 0, 65535)
    except ValueError as exc:
        errors.append(str(exc))
    if record.get("weight"):
        try:
            weight = _float(record["weight"], "weight", positive=True)
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        return None, errors
    return ImportedDependency(source=record["source"], target=record["target"], port=port, weight=weight), []


def parse_dependencies(raw: bytes, source: str, known: Collection[str]) -> list[ImportedDependency]:
    """Every dependency of a dependencies CSV whose endpoints are in ``known``, or CsvImportError."""
    problems: list[RowProblem] = []
    deps: list[ImportedDependency] = []
    first_line: dict[tuple[str, str, str], int] = {}
    for line, record in _records(decode(raw, source), DEPENDENCY_COLUMNS, DEPENDENCY_REQUIRED, problems):
        dep, errors = _dependency(record, known)
        key = (record.get("source", ""), record.get("target", ""), record.get("port", ""))
        if key in first_line:
            errors.append(f"duplicate dependency {key[0]} -> {key[1]}:{key[2]} "
                          f"(first on line {first_line[key]})")
        else:
            first_line[key] = line
        problems.extend(RowProblem(line, e) for e in errors)
        if dep is not None and not errors:
            deps.append(dep)
    if problems:
        raise CsvImportError(source, problems)
    return deps


# -- storing -----------------------------------------------------------------------------------
def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=str(path),
                         hint="check the path and its permissions") from exc


def import_servers(store: Store, path: Path) -> int:
    """Validate the whole servers CSV, then store it in one transaction. Returns the number stored."""
    servers = parse_servers(_read(path), str(path))
    return store.upsert_servers((s.name, s.data()) for s in servers)


def known_servers(store: Store) -> set[str]:
    """Names a dependency may refer to: imported servers and discovered hosts."""
    return set(store.servers()) | {facts.name for facts in store.latest_facts()}


def import_dependencies(store: Store, path: Path) -> int:
    """Validate the whole dependencies CSV against known servers, then store it in one transaction."""
    deps = parse_dependencies(_read(path), str(path), known_servers(store))
    return store.upsert_dependencies((d.source, d.target, d.port, d.weight) for d in deps)
