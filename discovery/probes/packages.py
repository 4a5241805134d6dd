"""Installed packages: ``rpm -qa`` with a queryformat, else ``dpkg-query -W``; pure parsers for both.

A manager whose database lists nothing (dpkg or rpm installed as a tool on a host managed by the other,
or by neither) is passed over; with none left the fact fails.

``rpm -qi`` and ``dpkg -l`` (what people paste) are parsed too, for captured outputs.
"""

from __future__ import annotations

from discovery.errors import ParseError
from discovery.facts import Package

_RPM_QF = r"%{NAME}\t%{EPOCH}:%{VERSION}-%{RELEASE}\t%{ARCH}\n"
_DPKG_QF = r"${Package}\t${Version}\t${Architecture}\t${Status}\n"
_RPM_QI_KEYS = frozenset({"Name", "Epoch", "Version", "Release", "Architecture"})
COMMAND = (
    f"if command -v rpm >/dev/null 2>&1 && rpm -qa >/dev/null 2>&1 && [ -n \"$(rpm -qa 2>/dev/null | head -1)\" ]; "
    f"then echo '%% rpm'; rpm -qa --queryformat '{_RPM_QF}'; "
    f"elif command -v dpkg-query >/dev/null 2>&1 && [ -n \"$(dpkg-query -W 2>/dev/null | head -1)\" ]; "
    f"then echo '%% dpkg'; dpkg-query -W -f='{_DPKG_QF}'; "
    "else echo '%% none'; fi"
)


def parse(text: str) -> tuple[Package, ...]:
    """Dispatch on the ``%% tool`` line; a host with neither rpm nor dpkg fails the fact."""
    lines = text.splitlines()
    tool = lines[0][3:].strip() if lines and lines[0].startswith("%% ") else ""
    if tool == "rpm":
        return parse_rpm_queryformat(lines[1:])
    if tool == "dpkg":
        return parse_dpkg_query(lines[1:])
    raise ParseError("no package database on this host: neither rpm nor dpkg-query lists any package",
                     hint="packages of other managers (apk, pacman, pkg) are not collected")


def parse_rpm_queryformat(lines: list[str]) -> tuple[Package, ...]:
    """NAME<TAB>EPOCH:VERSION-RELEASE<TAB>ARCH rows; an epoch of (none) is dropped, gpg-pubkey skipped."""
    found = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) != 3 or not parts[0] or parts[0] == "gpg-pubkey":
            continue
        epoch, _, version = parts[1].partition(":")
        if epoch not in ("(none)", "0", ""):
            version = f"{epoch}:{version}"
        found.append(Package(name=parts[0], version=version, arch=parts[2], manager="rpm"))
    return _sorted(found)


def parse_dpkg_query(lines: list[str]) -> tuple[Package, ...]:
    """Package<TAB>Version<TAB>Arch<TAB>Status rows; only 'install ok installed' counts."""
    found = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) != 4 or not parts[0]:
            continue
        if parts[3].split()[-1:] != ["installed"]:
            continue
        found.append(Package(name=parts[0], version=parts[1], arch=parts[2], manager="dpkg"))
    return _sorted(found)


def parse_dpkg_l(text: str) -> tuple[Package, ...]:
    """``dpkg -l`` table rows whose status is ii (installed); names lose a ':arch' suffix."""
    found = []
    for line in text.splitlines():
        parts = line.split(None, 4)
        if len(parts) < 4 or parts[0] not in ("ii", "hi"):
            continue
        found.append(Package(name=parts[1].split(":")[0], version=parts[2], arch=parts[3], manager="dpkg"))
    return _sorted(found)


def parse_rpm_qi(text: str) -> tuple[Package, ...]:
    """``rpm -qi`` blocks ("Name        : make" ...); one package per Name line, other keys ignored."""
    found: list[Package] = []
    fields: dict[str, str] = {}
    for line in [*text.splitlines(), "Name : "]:
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in _RPM_QI_KEYS:
            continue
        if key == "Name" and fields.get("Name"):
            found.append(_from_rpm_fields(fields))
            fields = {}
        fields.setdefault(key, value.strip())
    return _sorted(found)


def _from_rpm_fields(fields: dict[str, str]) -> Package:
    version = f"{fields.get('Version', '')}-{fields.get('Release', '')}".strip("-")
    epoch = fields.get("Epoch", "")
    if epoch and epoch not in ("(none)", "0"):
        version = f"{epoch}:{version}"
    return Package(name=fields["Name"], version=version, arch=fields.get("Architecture", ""), manager="rpm")


def _sorted(found: list[Package]) -> tuple[Package, ...]:
    return tuple(sorted(set(found), key=lambda p: (p.name, p.arch, p.version)))
