"""Release files of the real distributions a lab host can present.

The texts live in ``data/distros.toml`` (package data): one table per release with the fields those
releases really ship. Pure data, read once per call site; no other I/O.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

# Files present on the machine running the lab that a lab host must NOT show unless its distro has them.
RELEASE_FILES = (
    "os-release", "redhat-release", "centos-release", "rocky-release", "system-release",
    "SuSE-release", "lsb-release", "debian_version",
)

# The distro of instances started from the lab's cloud image.
CLOUD_IMAGE_DISTRO = "rocky9.3"


@dataclass(frozen=True)
class Distro:
    key: str
    id: str
    version_id: str
    name: str
    family: str
    pretty_name: str
    files: dict[str, str] = field(default_factory=dict)  # /etc/<name> -> content

    @property
    def has_os_release(self) -> bool:
        return "os-release" in self.files


@cache
def load_distros() -> dict[str, Distro]:
    text = resources.files("orchestrator.lab").joinpath("data/distros.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)
    return {key: Distro(key=key, id=row["id"], version_id=row["version_id"], name=row["name"],
                        family=row["family"], pretty_name=row["pretty_name"], files=dict(row["files"]))
            for key, row in table.items()}


def __getattr__(name: str) -> dict[str, Distro]:
    """``DISTROS``: the table, read on first use (no I/O at import)."""
    if name == "DISTROS":
        return load_distros()
    raise AttributeError(name)
