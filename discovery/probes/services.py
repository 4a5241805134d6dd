"""Services: systemd (``list-units`` + ``list-unit-files``) when PID 1 is systemd, else SysV init
(``chkconfig --list``, ``service --status-all``, the names in /etc/init.d)."""

from __future__ import annotations

import re

from discovery.errors import ParseError
from discovery.facts import Service
from discovery.probes.partial import Partial

_T = "if command -v timeout >/dev/null 2>&1; then timeout 10 \"$@\"; else \"$@\"; fi"
COMMAND = (
    f"_t() {{ {_T}; }}; "
    "if [ \"$(cat /proc/1/comm 2>/dev/null)\" = systemd ] && command -v systemctl >/dev/null 2>&1; then "
    "echo '%% units'; _t systemctl list-units --type=service --all --no-legend --no-pager; "
    "echo '%% unit-files'; _t systemctl list-unit-files --type=service --no-legend --no-pager; "
    "else echo '%% chkconfig'; command -v chkconfig >/dev/null 2>&1 && _t chkconfig --list 2>/dev/null; "
    "echo '%% status'; command -v service >/dev/null 2>&1 && _t service --status-all 2>&1; "
    "echo '%% initd'; ls -1 /etc/init.d 2>/dev/null; fi; true"
)

_ENABLED = {"enabled": True, "enabled-runtime": True, "alias": True, "disabled": False, "masked": False,
            "masked-runtime": False}
_DEBIAN_STATUS = re.compile(r"^\s*\[\s*([+?-])\s*\]\s+(\S+)\s*$")
_REDHAT_STATUS = re.compile(r"^(\S+?)[:]?\s.*\b(is running|is stopped|dead but|not running)", re.IGNORECASE)
_CHKCONFIG = re.compile(r"^(\S+)\s+0:(?:on|off)\s")
_INITD_SKIP = frozenset({"README", "skeleton", "rc", "rcS", "functions", "halt", "killall", "single", "reboot",
                         ".depend.boot", ".depend.start", ".depend.stop", ".legacy-bootordering"})


def parse(text: str) -> tuple[Service, ...] | Partial:
    blocks = _blocks(text)
    if "units" in blocks or "unit-files" in blocks:
        return merge_systemd(parse_units(blocks.get("units", [])), parse_unit_files(blocks.get("unit-files", [])))
    if not any(blocks.get(k) for k in ("chkconfig", "status", "initd")):
        raise ParseError("no service manager answered (no systemctl, chkconfig, service or /etc/init.d)")
    return parse_sysv(blocks.get("chkconfig", []), blocks.get("status", []), blocks.get("initd", []))


def _blocks(text: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("%% "):
            current = blocks.setdefault(line[3:].strip(), [])
        elif current is not None and line.strip():
            current.append(line)
    return blocks


def parse_units(lines: list[str]) -> dict[str, tuple[bool, str]]:
    """``systemctl list-units`` rows (UNIT LOAD ACTIVE SUB ...) → name → (active, sub state)."""
    found = {}
    for line in lines:
        parts = line.lstrip("●* ").split()
        if len(parts) < 4 or not parts[0].endswith(".service") or parts[1] == "LOAD":
            continue
        found[parts[0].removesuffix(".service")] = (parts[2] in ("active", "reloading", "activating"), parts[3])
    return found


def parse_unit_files(lines: list[str]) -> dict[str, str]:
    """``systemctl list-unit-files`` rows (UNIT FILE STATE [PRESET]) → service name → state; templates skipped."""
    found = {}
    for line in lines:
        parts = line.split()
        if len(parts) < 2 or not parts[0].endswith(".service") or parts[0].endswith("@.service"):
            continue
        found[parts[0].removesuffix(".service")] = parts[1]
    return found


def merge_systemd(units: dict[str, tuple[bool, str]], files: dict[str, str]) -> tuple[Service, ...]:
    services = []
    for name in sorted(set(units) | set(files)):
        active, sub = units.get(name, (False, ""))
        file_state = files.get(name, "")
        services.append(Service(name=name, manager="systemd", active=active,
                                enabled=_ENABLED.get(file_state), state=sub or file_state))
    return tuple(services)


def parse_sysv(chkconfig: list[str], status: list[str], initd: list[str]) -> tuple[Service, ...] | Partial:
    """SysV: boot state from chkconfig (runlevel 3 or 5 on), run state from ``service --status-all``."""
    enabled = {m.group(1): _on_in_3_or_5(line)
               for line in chkconfig if (m := _CHKCONFIG.match(line.replace("\t", " ")))}
    active = parse_status_all(status)
    names = set(enabled) | set(active) | {n for n in initd if n not in _INITD_SKIP and not n.startswith(".")}
    services = tuple(Service(name=name, manager="sysv", active=active.get(name), enabled=enabled.get(name),
                             state=_run_state(active.get(name))) for name in sorted(names))
    if not active:
        return Partial(services, "service --status-all gave no run states: whether services run is unknown")
    return services


def parse_status_all(lines: list[str]) -> dict[str, bool | None]:
    """Debian's ' [ + ]  ssh' and Red Hat's 'sshd (pid 1234) is running...' lines."""
    found: dict[str, bool | None] = {}
    for line in lines:
        if debian := _DEBIAN_STATUS.match(line):
            found[debian.group(2)] = {"+": True, "-": False}.get(debian.group(1))
        elif redhat := _REDHAT_STATUS.match(line):
            found[redhat.group(1)] = redhat.group(2).lower() == "is running"
    return found


def _on_in_3_or_5(line: str) -> bool:
    fields = line.split()
    return "3:on" in fields or "5:on" in fields


def _run_state(active: bool | None) -> str:
    return "" if active is None else "running" if active else "stopped"
