"""OS probe: /etc/os-release first, then the distributions' older release files.

The command prints each readable file after a ``==> PATH <==`` line; ``parse`` is pure.
"""

from __future__ import annotations

import re
import shlex

from discovery.errors import ParseError
from discovery.facts import OsInfo

RELEASE_FILES = (
    "/etc/os-release", "/usr/lib/os-release", "/etc/redhat-release", "/etc/centos-release",
    "/etc/oracle-release", "/etc/system-release", "/etc/SuSE-release", "/etc/lsb-release",
    "/etc/debian_version",
)
COMMAND = (
    "for f in " + " ".join(RELEASE_FILES) + "; do "
    'if [ -r "$f" ]; then echo "==> $f <=="; cat "$f"; echo; fi; done'
)

_MARK = re.compile(r"^==> (\S+) <==$")
_REDHAT_LIKE = re.compile(
    r"^(?P<name>.+?)\s+release\s+(?P<version>[\d.]+)", re.IGNORECASE)
_REDHAT_IDS = (
    ("red hat enterprise linux", "rhel", "Red Hat Enterprise Linux"),
    ("centos", "centos", "CentOS Linux"),
    ("scientific linux", "scientific", "Scientific Linux"),
    ("oracle linux", "ol", "Oracle Linux Server"),
    ("cloudlinux", "cloudlinux", "CloudLinux"),
    ("fedora", "fedora", "Fedora"),
    ("amazon linux", "amzn", "Amazon Linux"),
    ("rocky", "rocky", "Rocky Linux"),
    ("almalinux", "almalinux", "AlmaLinux"),
)
_FAMILIES = (
    ("redhat", {"rhel", "centos", "fedora", "rocky", "almalinux", "ol", "amzn", "scientific",
                "cloudlinux", "eurolinux", "miraclelinux", "virtuozzo", "tencentos", "openeuler", "kylin"}),
    ("debian", {"debian", "ubuntu", "linuxmint", "raspbian", "kali", "devuan", "pop", "neon",
                "deepin", "parrot", "pardus", "osmc", "uos", "steamos", "cumulus-linux"}),
    ("suse", {"sles", "sles_sap", "sled", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "suse",
              "sl-micro", "alp"}),
)


def split_files(text: str) -> dict[str, str]:
    """The command's output as {path: content}."""
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        mark = _MARK.match(line)
        if mark:
            current = files.setdefault(mark.group(1), [])
        elif current is not None:
            current.append(line)
    return {path: "\n".join(lines).strip() for path, lines in files.items()}


def parse_keyvals(text: str) -> dict[str, str]:
    """KEY=value lines (os-release, lsb-release) with shell quoting removed."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, raw = line.strip().partition("=")
        if not sep or not key or key.startswith("#"):
            continue
        try:
            parts = shlex.split(raw, comments=False, posix=True)
        except ValueError:
            parts = [raw.strip().strip("\"'")]
        values[key.strip()] = " ".join(parts)
    return values


def family_of(os_id: str, id_like: str = "") -> str:
    """redhat / debian / suse / other from ID, then ID_LIKE."""
    for candidate in (os_id, *id_like.split()):
        lowered = candidate.lower()
        for family, ids in _FAMILIES:
            if lowered in ids or (family == "suse" and "suse" in lowered):
                return family
    return "other"


def parse(text: str) -> OsInfo:
    """OsInfo from the release files; ID/VERSION_ID follow /etc/os-release when it has an ID."""
    return parse_files(split_files(text))


def parse_files(files: dict[str, str]) -> OsInfo:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        if path in files:
            values = parse_keyvals(files[path])
            if values.get("ID"):
                return _from_os_release(values)
    for reader in (_from_suse, _from_redhat, _from_lsb, _from_debian):
        found = reader(files)
        if found is not None:
            return found
    raise ParseError("no os-release and no known release file on the host")


def _from_os_release(values: dict[str, str]) -> OsInfo:
    os_id = values["ID"].lower()
    name = values.get("NAME", os_id)
    return OsInfo(id=os_id, version_id=values.get("VERSION_ID", ""), name=name,
                  family=family_of(os_id, values.get("ID_LIKE", "")),
                  pretty_name=values.get("PRETTY_NAME", name))


def _from_redhat(files: dict[str, str]) -> OsInfo | None:
    for path in ("/etc/oracle-release", "/etc/centos-release", "/etc/redhat-release", "/etc/system-release"):
        line = files.get(path, "").splitlines()[0] if files.get(path) else ""
        found = _REDHAT_LIKE.match(line)
        if not found:
            continue
        lowered = found.group("name").lower()
        for needle, os_id, name in _REDHAT_IDS:
            if needle in lowered:
                return OsInfo(id=os_id, version_id=found.group("version"), name=name,
                              family=family_of(os_id), pretty_name=line.strip())
    return None


def _from_suse(files: dict[str, str]) -> OsInfo | None:
    text = files.get("/etc/SuSE-release")
    if not text:
        return None
    first = text.splitlines()[0].strip()
    values = {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in text.splitlines()[1:])}
    version = values.get("VERSION", "")
    if values.get("PATCHLEVEL", "0") not in ("", "0"):
        version = f"{version}.{values['PATCHLEVEL']}"
    lowered = first.lower()
    if "opensuse" in lowered:
        os_id, name = "opensuse", "openSUSE"
    elif "desktop" in lowered:
        os_id, name = "sled", "SUSE Linux Enterprise Desktop"
    else:
        os_id, name = "sles", "SUSE Linux Enterprise Server"
    return OsInfo(id=os_id, version_id=version, name=name, family="suse", pretty_name=first)


def _from_lsb(files: dict[str, str]) -> OsInfo | None:
    values = parse_keyvals(files.get("/etc/lsb-release", ""))
    if not values.get("DISTRIB_ID") or not values.get("DISTRIB_RELEASE"):
        return None
    os_id = values["DISTRIB_ID"].lower().replace(" ", "")
    desc = values.get("DISTRIB_DESCRIPTION", values["DISTRIB_ID"])
    return OsInfo(id=os_id, version_id=values["DISTRIB_RELEASE"], name=values["DISTRIB_ID"],
                  family=family_of(os_id), pretty_name=desc)


def _from_debian(files: dict[str, str]) -> OsInfo | None:
    version = files.get("/etc/debian_version", "").strip()
    if not version:
        return None
    return OsInfo(id="debian", version_id=version, name="Debian GNU/Linux", family="debian",
                  pretty_name=f"Debian GNU/Linux {version}")
