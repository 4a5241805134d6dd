"""End-of-life status of an OS release from a small table (package data ``data/eol.toml``)."""

from __future__ import annotations

import tomllib
from datetime import date
from functools import cache
from importlib import resources

from discovery.facts import EolInfo, OsInfo


@cache
def table() -> dict[str, dict[str, str]]:
    text = resources.files("discovery").joinpath("data/eol.toml").read_text(encoding="utf-8")
    return {os_id: dict(releases) for os_id, releases in tomllib.loads(text).items()}


def eol_date(os_id: str, version_id: str, releases: dict[str, dict[str, str]] | None = None) -> str | None:
    """The release's end-of-support date: exact VERSION_ID first, then its major version."""
    known = (releases if releases is not None else table()).get(os_id, {})
    if version_id in known:
        return known[version_id]
    return known.get(version_id.split(".", 1)[0])


def status(os: OsInfo, today: date, releases: dict[str, dict[str, str]] | None = None) -> EolInfo:
    """supported until (and on) the date, eol after it; unknown when the release is not in the table."""
    found = eol_date(os.id, os.version_id, releases)
    if found is None:
        return EolInfo(status="unknown")
    return EolInfo(status="eol" if today > date.fromisoformat(found) else "supported", date=found)
