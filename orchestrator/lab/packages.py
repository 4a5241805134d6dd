"""Each lab host's own package database: what its release and services would have installed.

Debian-family hosts get a small dpkg status file of their own (the base system of their release plus the
packages of their services, from ``data/packages.toml``); the host's sshd sets ``DPKG_ADMINDIR`` to it, so
``dpkg-query`` in a session reads that host's packages, not the machine's. RPM-family and SUSE hosts get an
empty one: the lab has no rpm database to give them, so their packages are unknown (discovery reports no
package manager) rather than the machine's Debian packages. Pure text builders; no I/O but the data file.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from orchestrator.lab.manifest import LabHost

ADMIN_DIR = "/etc/pindah-lab/dpkg"  # inside a lab host: its dpkg admin dir (in the host's /etc layer)
ARCH_ALL = frozenset({"ca-certificates", "tzdata", "tomcat9", "tomcat10"})
_MAINTAINERS = {"debian": "Debian Developers <debian-devel@lists.debian.org>",
                "ubuntu": "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>"}


@cache
def _table() -> dict[str, dict[str, dict[str, object]]]:
    text = resources.files("orchestrator.lab").joinpath("data/packages.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def installed(host: LabHost) -> tuple[str, ...] | None:
    """``name version arch`` per package the host's dpkg database lists, sorted; None when the host has no
    package database in the lab (its release is not Debian-family)."""
    release = _table().get(host.os.key)
    if release is None or host.os.family.lower() != "debian":
        return None
    found: dict[str, str] = dict(release["base"])  # type: ignore[arg-type]
    by_process: dict[str, dict[str, str]] = release.get("process", {})  # type: ignore[assignment]
    for service in host.services:
        found.update(by_process.get(service.process, {}))
    return tuple(f"{name} {version} {'all' if name in ARCH_ALL else 'amd64'}"
                 for name, version in sorted(found.items()))


def dpkg_status(host: LabHost) -> str:
    """The host's /var/lib/dpkg/status equivalent (empty for hosts without a package database)."""
    maintainer = _MAINTAINERS.get(host.os.id, _MAINTAINERS["debian"])
    stanzas = []
    for row in installed(host) or ():
        name, version, arch = row.split(" ")
        stanzas.append(f"Package: {name}\nStatus: install ok installed\nPriority: optional\nSection: misc\n"
                       f"Maintainer: {maintainer}\nArchitecture: {arch}\nVersion: {version}\n"
                       f"Description: {name} (lab host {host.os.key})\n")
    return "\n".join(stanzas)
