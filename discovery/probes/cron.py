"""Cron jobs: /etc/crontab and /etc/cron.d (system format, with a user column), the probing user's
``crontab -l``, and every user's spool file when readable (root). Without root the spool is partial."""

from __future__ import annotations

import re

from discovery.facts import CronJob
from discovery.probes.partial import Partial

COMMAND = (
    "echo '%% system /etc/crontab'; cat /etc/crontab 2>/dev/null; "
    "for f in /etc/cron.d/*; do [ -f \"$f\" ] && { echo \"%% system $f\"; cat \"$f\"; }; done; "
    "echo \"%% user $(id -un 2>/dev/null)\"; crontab -l 2>/dev/null; "
    "for d in /var/spool/cron/crontabs /var/spool/cron /var/spool/cron/tabs; do "
    "[ -d \"$d\" ] || continue; if [ -r \"$d\" ] && [ -x \"$d\" ]; then "
    "for f in \"$d\"/*; do [ -f \"$f\" ] && { echo \"%% spool $f\"; cat \"$f\"; }; done; "
    "else echo \"%% unreadable $d\"; fi; done; true"
)

_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")


def parse(text: str) -> tuple[CronJob, ...] | Partial:
    jobs: list[CronJob] = []
    unreadable: list[str] = []
    kind, source, lines = "", "", []
    for line in [*text.splitlines(), "%% end"]:
        if not line.startswith("%% "):
            lines.append(line)
            continue
        jobs.extend(_block(kind, source, lines))
        kind, _, source = line[3:].partition(" ")
        lines = []
        if kind == "unreadable":
            unreadable.append(source)
    found = tuple(sorted(set(jobs), key=lambda j: (j.source, j.user or "", j.schedule, j.command)))
    if unreadable:
        return Partial(found, f"other users' crontabs are not readable without root ({', '.join(unreadable)})")
    return found


def _block(kind: str, source: str, lines: list[str]) -> list[CronJob]:
    if kind == "system":
        return parse_crontab("\n".join(lines), system=True, source=source)
    if kind == "user":
        return parse_crontab("\n".join(lines), user=source or None, source="crontab -l")
    if kind == "spool":
        return parse_crontab("\n".join(lines), user=source.rsplit("/", 1)[-1], source=source)
    return []


def parse_crontab(text: str, *, system: bool = False, user: str | None = None, source: str = "") -> list[CronJob]:
    """Crontab lines: '@daily cmd' or five time fields then (system files only) a user, then the command."""
    jobs = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or _VARIABLE.match(line):
            continue
        parts = line.split(None, 1 if line.startswith("@") else 5)
        fields = 1 if line.startswith("@") else 5
        if len(parts) <= fields:
            continue
        schedule, rest = " ".join(parts[:fields]), parts[fields]
        owner = user
        if system:
            owner, _, rest = rest.partition(" ")
            rest = rest.strip()
            if not rest:
                continue
        jobs.append(CronJob(schedule=schedule, command=rest, user=owner, source=source))
    return jobs
