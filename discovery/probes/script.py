"""One POSIX sh script runs every probe over a single SSH exec; its output is split back per probe.

Each probe's output sits between unique BEGIN/END marker lines; END carries the probe's exit status.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from discovery.probes import (
    cron,
    disks,
    mounts,
    network,
    osrelease,
    packages,
    processes,
    services,
    sockets,
    system,
    virt,
)

PROBE_COMMANDS: dict[str, str] = {
    "os": osrelease.COMMAND,
    "hostname": system.HOSTNAME_COMMAND,
    "cpu": system.CPU_COMMAND,
    "memory": system.MEMORY_COMMAND,
    "disks": disks.COMMAND,
    "sockets": sockets.COMMAND,
    "packages": packages.COMMAND,
    "services": services.COMMAND,
    "network": network.COMMAND,
    "mounts": mounts.COMMAND,
    "cron": cron.COMMAND,
    "virtualization": virt.COMMAND,
    "processes": processes.COMMAND,
}


@dataclass(frozen=True)
class Section:
    name: str
    exit_status: int | None
    text: str


def new_nonce() -> str:
    return secrets.token_hex(8)


def build_script(nonce: str, commands: dict[str, str] | None = None) -> str:
    """The sh script: LC_ALL=C, PATH with sbin, every probe between its markers, stdin closed."""
    lines = ["LC_ALL=C; export LC_ALL", "PATH=$PATH:/usr/sbin:/sbin:/usr/bin:/bin; export PATH"]
    for name, command in (commands or PROBE_COMMANDS).items():
        lines.append(f"echo '@@PINDAH:{nonce}:BEGIN:{name}@@'")
        lines.append(f"( {command} ) </dev/null 2>/dev/null")
        lines.append(f"printf '\\n@@PINDAH:{nonce}:END:{name}:%s@@\\n' \"$?\"")
    return "\n".join(lines) + "\n"


def wrap_for_shell(script: str, become: bool = False) -> str:
    """Run ``script`` under /bin/sh whatever the login shell is (the script is one quoted argument).

    With ``become``, run it through ``sudo -n`` when passwordless sudo works, else as the login user
    (sudo is used when allowed, never required).
    """
    quoted = "'" + script.replace("'", "'\"'\"'") + "'"
    if not become:
        return "/bin/sh -c " + quoted
    return ("/bin/sh -c " + "'" + "if sudo -n true >/dev/null 2>&1 </dev/null; then exec sudo -n /bin/sh -c \"$0\"; "
            "else exec /bin/sh -c \"$0\"; fi" + "' " + quoted)


# what a terminal would act on, and what str.splitlines() would break a line at: never part of a fact
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def defang(text: str) -> str:
    """Host output made safe to parse, store and print: CRLF becomes LF; control characters (ESC, BEL, CR,
    BS, C1, line/paragraph separators) become U+FFFD, so no escape sequence reaches a terminal or a report
    and no value splits into two lines. Tab and newline stay: the parsers need them."""
    return _UNSAFE.sub("\ufffd", text.replace("\r\n", "\n"))


def split_output(stdout: str, nonce: str) -> dict[str, Section]:
    """Sections by probe name, defanged; a probe whose END marker is missing gets exit_status None."""
    stdout = defang(stdout)
    pattern = re.compile(
        rf"^@@PINDAH:{nonce}:BEGIN:(?P<name>\w+)@@$(?P<body>.*?)(?:^@@PINDAH:{nonce}:END:(?P=name):"
        rf"(?P<rc>\d+)@@$|\Z)", re.MULTILINE | re.DOTALL)
    sections: dict[str, Section] = {}
    for found in pattern.finditer(stdout):
        body = found.group("body")
        body = body[1:] if body.startswith("\n") else body
        body = body[:-1] if body.endswith("\n") else body
        rc = found.group("rc")
        sections[found.group("name")] = Section(found.group("name"), int(rc) if rc else None,
                                                body.rstrip("\n"))
    return sections
