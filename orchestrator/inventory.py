"""Ansible inventories (YAML or INI) as a flat list of hosts, and Ansible-style host patterns.

Group vars are applied from the shallowest group to the deepest, then host vars, as Ansible does.
Secret values (passwords, vault data) are never kept.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from orchestrator.errors import InputError

_RANGE = re.compile(r"\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::(\d+))?\]")
_SECRET = re.compile(r"pass(word)?|secret|token|vault|private_key_passphrase", re.IGNORECASE)
_YAML_SUFFIXES = (".yml", ".yaml", ".json")
MAX_RANGE = 100_000  # hosts one [a:b] range may name
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
HINT = "see https://docs.ansible.com/ansible/latest/inventory_guide/intro_inventory.html for the format"


class InventoryCredential(BaseModel):
    """One login to try (``pindah_credentials`` list): a key file, the SSH agent, a password read from
    the environment variable named here, or (``password_prompt``) a password typed once at a prompt before
    discovery starts. The password itself never appears in the inventory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str | None = None
    key_file: Path | None = None
    agent: bool = False
    password_env: str | None = None
    password_prompt: bool = False


class InventoryHost(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    address: str
    port: int = 22
    user: str | None = None
    key_file: Path | None = None
    known_hosts_file: Path | None = None
    groups: tuple[str, ...] = ()
    vars: dict[str, Any] = {}
    proxy_jump: str | None = None  # [user@]host[:port][,...] bastions (outermost first), from ansible_ssh_common_args
    credentials: tuple[InventoryCredential, ...] = ()


@dataclass
class _Group:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)


@dataclass
class _Tree:
    source: str
    text: str = ""
    groups: dict[str, _Group] = field(default_factory=dict)

    def line_of(self, key: str) -> int | None:
        """Best effort: the first line of the YAML text that defines ``key``."""
        wanted = re.compile(rf"^\s*(?:-\s*)?['\"]?{re.escape(key)}['\"]?\s*:")
        for number, line in enumerate(self.text.splitlines(), start=1):
            if wanted.match(line):
                return number
        return None

    def group(self, name: str) -> _Group:
        return self.groups.setdefault(name, _Group(name))


def expand_range(pattern: str) -> list[str]:
    """web[01:03] → web01, web02, web03; db[a:c] → dba, dbb, dbc (one or more ranges)."""
    found = _RANGE.search(pattern)
    if not found:
        return [pattern]
    start, end, step = found.group(1), found.group(2), int(found.group(3) or 1)
    head, tail = pattern[:found.start()], pattern[found.end():]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") else 0
        items = [str(i).zfill(width) for i in range(int(start), int(end) + 1, step)]
    else:
        items = [chr(c) for c in range(ord(start), ord(end) + 1, step)]
    return [name for item in items for name in expand_range(head + item + tail)]


def range_size(pattern: str) -> int:
    """How many names ``pattern``'s ranges expand to, without expanding them."""
    size = 1
    for found in _RANGE.finditer(pattern):
        start, end, step = found.group(1), found.group(2), max(1, int(found.group(3) or 1))
        low, high = (int(start), int(end)) if start.isdigit() and end.isdigit() else (ord(start[0]), ord(end[0]))
        size *= max(0, (high - low) // step + 1)
    return size


def _host_names(pattern: str, tree: _Tree, line: Callable[[], int | None]) -> list[tuple[str, dict[str, Any]]]:
    """Expanded host names; Ansible's ``name:port`` form sets ansible_port (IPv6 needs brackets).

    A name with control characters, or ranges naming more than MAX_RANGE hosts, is an InputError.
    ``line`` finds the pattern's line, only for an error (a search per host would be quadratic).
    """
    if _CONTROL.search(pattern):
        raise InputError(f"host name {pattern!r} holds control characters", source=tree.source, line=line(),
                         hint=HINT)
    if range_size(pattern) > MAX_RANGE:
        raise InputError(f"host pattern {pattern!r} names {range_size(pattern)} hosts, more than {MAX_RANGE}",
                         source=tree.source, line=line(), hint="split the estate into smaller ranges")
    found = re.fullmatch(r"(\[[^\]]+\]|[^:\[\]]+(?:\[[^\]]+\][^:]*)?):(\d+)", pattern)
    if found and not found.group(1).startswith("["):
        return [(name, {"ansible_port": int(found.group(2))}) for name in expand_range(found.group(1))]
    return [(name, {}) for name in expand_range(pattern)]


def load_inventory(path: Path) -> list[InventoryHost]:
    """Every host of the inventory file at ``path`` (YAML or INI), sorted by name."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read inventory: {exc.strerror}", source=source,
                         hint="check the path given to -i") from exc
    text = _decode(raw, source)
    tree = _Tree(source, text)
    if path.suffix.lower() in _YAML_SUFFIXES or _looks_like_yaml(text):
        _load_yaml(text, tree)
    else:
        _load_ini(text, tree)
    hosts = _flatten(tree, path.parent)
    if not hosts:
        raise InputError("the inventory defines no hosts", source=source, hint=HINT)
    return hosts


def _decode(raw: bytes, source: str) -> str:
    """UTF-8 (a BOM is dropped); invalid bytes or NULs are an InputError naming the line."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})", source=source,
                         line=raw[: exc.start].count(b"\n") + 1,
                         hint="save the inventory as UTF-8 (e.g. 'iconv -f latin1 -t utf-8')") from exc
    if "\x00" in text:
        raise InputError("the file holds NUL bytes: not a text inventory", source=source,
                         line=text[: text.index("\x00")].count("\n") + 1, hint=HINT)
    return text


def _looks_like_yaml(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", ";")):
            return not stripped.startswith("[") and stripped.endswith(":")
    return False


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(f"duplicate key {key!r} (a second definition would silently replace the first)")
        self.problem, self.problem_mark = str(self), yaml.Mark("", 0, line, 0, "", 0)


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses a key defined twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) or key is None:
                if key in seen:
                    raise _DuplicateKey(key, key_node.start_mark.line)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str, tree: _Tree) -> None:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", source=tree.source,
                         line=mark.line + 1 if mark else None, hint=HINT) from exc
    if not isinstance(data, dict):
        raise InputError("a YAML inventory must be a mapping of group names", source=tree.source, hint=HINT)
    for name, body in data.items():
        try:
            _yaml_group(str(name), body, tree)
        except RecursionError:
            raise InputError(f"group {name!r} nests itself (a YAML alias refers to its own group) or nests "
                             "too deep", source=tree.source, line=tree.line_of(str(name)), hint=HINT) from None
        if name != "all":
            tree.group("all").children.append(str(name))


def _mapping(value: Any, what: str, tree: _Tree, key: str = "") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a mapping, got {type(value).__name__}", source=tree.source,
                         line=tree.line_of(key) if key else None, hint=HINT)
    return {str(k): v for k, v in value.items()}


def _yaml_group(name: str, body: Any, tree: _Tree) -> None:
    body = _mapping(body, f"group {name!r}", tree, name)
    unknown = set(body) - {"hosts", "vars", "children"}
    if unknown:
        raise InputError(f"group {name!r} has unknown keys {sorted(unknown)} (expected hosts, vars, children)",
                         source=tree.source, line=tree.line_of(sorted(unknown)[0]), hint=HINT)
    group = tree.group(name)
    group.vars.update(_mapping(body.get("vars"), f"vars of group {name!r}", tree, "vars"))
    for host, host_vars in _mapping(body.get("hosts"), f"hosts of group {name!r}", tree, "hosts").items():
        for expanded, implied in _host_names(host, tree, functools.partial(tree.line_of, host)):
            entry = group.hosts.setdefault(expanded, {})
            entry.update(implied)
            entry.update(_mapping(host_vars, f"host {host!r}", tree, host))
    for child, child_body in _mapping(body.get("children"), f"children of group {name!r}", tree, "children").items():
        group.children.append(child)
        _yaml_group(child, child_body, tree)


def _load_ini(text: str, tree: _Tree) -> None:
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise InputError(f"unterminated section header {line!r}", source=tree.source, line=number,
                                 hint=HINT)
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                raise InputError(f"unknown section kind {kind!r}", source=tree.source, line=number,
                                 hint="use [group], [group:vars] or [group:children]")
            tree.group(section)
            continue
        _ini_line(line, section, kind, tree, number)


def _ini_line(line: str, section: str, kind: str, tree: _Tree, number: int) -> None:
    try:
        words = shlex.split(line, comments=True)
    except ValueError as exc:
        raise InputError(f"cannot split line: {exc}", source=tree.source, line=number, hint=HINT) from exc
    group = tree.group(section)
    if kind == "children":
        group.children.append(words[0])
        tree.group(words[0])
        return
    if kind == "vars":
        key, sep, value = line.partition("=")
        if not sep:
            raise InputError(f"expected key=value in [{section}:vars]", source=tree.source, line=number,
                             hint=HINT)
        group.vars[key.strip()] = _ini_value(value.strip())
        return
    host_vars: dict[str, Any] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            raise InputError(f"expected key=value after host {words[0]!r}, got {word!r}",
                             source=tree.source, line=number, hint=HINT)
        host_vars[key] = _ini_value(value)
    for host, implied in _host_names(words[0], tree, lambda: number):
        entry = group.hosts.setdefault(host, {})
        entry.update(implied)
        entry.update(host_vars)


def _ini_value(value: str) -> Any:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return int(value) if value.isdigit() else value


def _depths(tree: _Tree) -> dict[str, int]:
    depth: dict[str, int] = {"all": 0}
    frontier = ["all"]
    while frontier:
        name = frontier.pop()
        for child in tree.group(name).children:
            if depth.get(child, -1) < depth[name] + 1 and depth[name] < 50:
                depth[child] = depth[name] + 1
                frontier.append(child)
    for name in tree.groups:
        depth.setdefault(name, 1)
    return depth


def _members(tree: _Tree) -> dict[str, set[str]]:
    """Groups of each host, children included."""
    memo: dict[str, set[str]] = {}

    def hosts_of(name: str, seen: frozenset[str]) -> set[str]:
        if name not in memo:
            found = set(tree.group(name).hosts)
            for child in tree.group(name).children:
                if child not in seen:
                    found |= hosts_of(child, seen | {child})
            memo[name] = found
        return memo[name]

    result: dict[str, set[str]] = {}
    for name in list(tree.groups):
        for host in hosts_of(name, frozenset({name})):
            result.setdefault(host, set()).add(name)
    return result


def _flatten(tree: _Tree, base: Path) -> list[InventoryHost]:
    depth = _depths(tree)
    hosts = []
    for host, groups in sorted(_members(tree).items()):
        merged: dict[str, Any] = {}
        ordered = sorted(groups, key=lambda g: (depth[g], g))
        for name in ordered:
            merged.update(tree.groups[name].vars)
        for name in ordered:
            merged.update(tree.groups[name].hosts.get(host, {}))
        hosts.append(_host(host, merged, tuple(g for g in ordered if g != "all"), base, tree.source))
    return hosts


def _host(name: str, merged: dict[str, Any], groups: tuple[str, ...], base: Path, source: str) -> InventoryHost:
    try:
        port = int(merged.get("ansible_port", merged.get("ansible_ssh_port", 22)))
    except (TypeError, ValueError) as exc:
        raise InputError(f"host {name!r}: ansible_port is not a number", source=source, hint=HINT) from exc
    if not 1 <= port <= 65535:
        raise InputError(f"host {name!r}: ansible_port {port} is not a TCP port (1-65535)", source=source,
                         hint=HINT)
    user = merged.get("ansible_user", merged.get("ansible_ssh_user"))
    key = merged.get("ansible_ssh_private_key_file", merged.get("ansible_private_key_file"))
    ssh_args = f"{merged.get('ansible_ssh_common_args', '')} {merged.get('ansible_ssh_extra_args', '')}"
    return InventoryHost(
        name=name, address=str(merged.get("ansible_host", merged.get("ansible_ssh_host", name))), port=port,
        user=str(user) if user is not None else None, key_file=_path(key, base) if key else None,
        known_hosts_file=known_hosts_from_args(ssh_args, base), groups=groups,
        vars={k: v for k, v in merged.items() if not _SECRET.search(k)},
        proxy_jump=proxy_jump_from_args(ssh_args, name, source),
        credentials=_credentials(merged.get("pindah_credentials"), base, name, source))


def _credentials(raw: Any, base: Path, host: str, source: str) -> tuple[InventoryCredential, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise InputError(f"host {host!r}: pindah_credentials must be a list of mappings", source=source,
                         hint="e.g. [{user: ops, key_file: ~/.ssh/ops}, {user: ops, agent: true}, "
                              "{user: ops, password_env: OPS_PASSWORD}, {user: ops, password_prompt: true}]")
    found = []
    for item in raw:
        unknown = set(item) - {"user", "key_file", "agent", "password_env", "password_prompt"}
        if unknown:
            raise InputError(f"host {host!r}: unknown pindah_credentials keys {sorted(unknown)}", source=source,
                             hint="keys: user, key_file, agent, password_env (a variable NAME, never a password), "
                                  "password_prompt (true: typed once when discovery starts)")
        key = item.get("key_file")
        try:
            credential = InventoryCredential(user=item.get("user"), key_file=_path(key, base) if key else None,
                                             agent=bool(item.get("agent", False)),
                                             password_env=item.get("password_env"),
                                             password_prompt=item.get("password_prompt", False))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InputError(f"host {host!r}: pindah_credentials {'.'.join(map(str, first['loc']))}: {first['msg']}",
                             source=source, hint="user, key_file and password_env are strings, agent and "
                             "password_prompt booleans") from None
        if credential.password_prompt and (not credential.user or credential.key_file or credential.agent
                                           or credential.password_env):
            raise InputError(f"host {host!r}: a pindah_credentials entry with password_prompt takes only a user",
                             source=source, hint="e.g. {user: ops, password_prompt: true}: the password for "
                             "'ops' is asked once, whichever hosts use it")
        found.append(credential)
    return tuple(found)


def _path(value: Any, base: Path) -> Path:
    path = Path(str(value)).expanduser()
    if not path.is_absolute() and (base / path).exists():
        return (base / path).resolve()
    return path


def known_hosts_from_args(args: str, base: Path) -> Path | None:
    """The UserKnownHostsFile given as ``-o UserKnownHostsFile=PATH`` in ssh arguments, if any."""
    try:
        words = shlex.split(args)
    except ValueError:
        return None
    options = [w[2:] for w in words if w.startswith("-o") and len(w) > 2]
    options += [words[i + 1] for i, w in enumerate(words[:-1]) if w == "-o"]
    for option in options:
        key, _, value = option.replace(" ", "=", 1).partition("=")
        if key.strip().lower() == "userknownhostsfile" and value.strip():
            return _path(value.strip().split()[0], base)
    return None


def _ssh_options(words: list[str]) -> list[tuple[str, str]]:
    options = [w[2:] for w in words if w.startswith("-o") and len(w) > 2]
    options += [words[i + 1] for i, w in enumerate(words[:-1]) if w == "-o"]
    pairs = []
    for option in options:
        key, *value = re.split(r"\s*=\s*|\s+", option.strip(), maxsplit=1)
        pairs.append((key.lower(), value[0].strip() if value else ""))
    return pairs


def proxy_jump_from_args(args: str, host: str = "", source: str = "") -> str | None:
    """The bastions from ``-J X``, ``-o ProxyJump=X`` (``X``: ``[user@]host[:port]``, several comma-separated,
    outermost first) or ``-o ProxyCommand="ssh -W %h:%p [-q] X"``."""
    try:
        words = shlex.split(args)
    except ValueError:
        return None
    found = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "-J"]
    for key, value in _ssh_options(words):
        if key == "proxyjump" and value.lower() != "none":
            found.append(value)
        elif key == "proxycommand":
            parts = shlex.split(value)
            if parts[:1] == ["ssh"] and "-W" in parts:
                found.append(next(p for p in reversed(parts[1:]) if not p.startswith("-") and "%" not in p))
    if not found:
        return None
    hops = found[0].split(",")
    if not all(hop.strip() and not any(c.isspace() for c in hop) for hop in hops):
        raise InputError(f"host {host!r}: ProxyJump {found[0]!r} has an empty or malformed hop", source=source,
                         hint="comma-separated [user@]host[:port] without spaces, outermost bastion first, "
                              "e.g. -J ops@gw.example,10.0.0.5:2222")
    return found[0]


def select(hosts: Iterable[InventoryHost], pattern: str | None) -> list[InventoryHost]:
    """Hosts matching an Ansible pattern: names or groups, globs, ',' or ':' lists, '!' and '&'."""
    pool = list(hosts)
    if not pattern or pattern.strip() in ("all", "*"):
        return pool
    terms = [t.strip() for t in re.split(r"[,:]", pattern) if t.strip()]
    plain = [t for t in terms if t[0] not in "!&"]
    chosen = [h for h in pool if any(_matches(h, t) for t in plain)] if plain else list(pool)
    for term in terms:
        if term.startswith("&"):
            chosen = [h for h in chosen if _matches(h, term[1:])]
        elif term.startswith("!"):
            chosen = [h for h in chosen if not _matches(h, term[1:])]
    return chosen


def _matches(host: InventoryHost, term: str) -> bool:
    if term in ("all", "*"):
        return True
    if term.startswith("~"):
        regex = re.compile(term[1:])
        return bool(regex.search(host.name)) or any(regex.search(g) for g in host.groups)
    names = (host.name, host.address, *host.groups)
    return any(fnmatch.fnmatchcase(name, term) for name in names)
