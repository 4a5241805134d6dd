"""Middleware recognised from installed packages and running processes, with versions where visible.

Pure: ``detect(packages, processes)``. A version comes from the package (epoch and release dropped) or
from a versioned path or name in the process (``/usr/lib/postgresql/15/bin/postgres``, ``python3.11``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from discovery.facts import Middleware, Package
from discovery.probes.processes import Process


@dataclass(frozen=True)
class Rule:
    kind: str
    packages: re.Pattern[str]
    processes: re.Pattern[str]
    version_in_process: re.Pattern[str] | None = None


_NEVER = re.compile(r"(?!x)x")
RULES: tuple[Rule, ...] = (
    Rule("nginx", re.compile(r"^nginx(-core|-full|-light|-extras)?$"), re.compile(r"^nginx$")),
    Rule("httpd", re.compile(r"^(httpd|apache2)$"), re.compile(r"^(httpd|apache2)$")),
    Rule("tomcat", re.compile(r"^tomcat\d*$"), _NEVER, re.compile(r"tomcat-?(\d+(?:\.\d+)*)")),
    Rule("postgres", re.compile(r"^postgresql(\d+)?-server$|^postgresql-\d+$"),
         re.compile(r"^(postgres|postmaster)$"), re.compile(r"/(?:postgresql|pgsql)-?/?(\d+(?:\.\d+)?)/")),
    Rule("mysql", re.compile(r"^(mysql-server|mysql-community-server|mariadb-server|percona-server-server)"
                             r"(-[\d.]+)?$"), re.compile(r"^(mysqld|mariadbd)$")),
    Rule("oracle", re.compile(r"^oracle-database-"), re.compile(r"^(ora_pmon_\w+|tnslsnr)$")),
    Rule("mssql", re.compile(r"^mssql-server$"), re.compile(r"^sqlservr$")),
    Rule("redis", re.compile(r"^redis(-server)?$"), re.compile(r"^redis-server$")),
    Rule("mongodb", re.compile(r"^mongodb-(org-)?server$"), re.compile(r"^mongod$")),
    Rule("java", re.compile(r"^(java-[\d.]+-openjdk(-headless)?|openjdk-\d+-jre(-headless)?|jdk-\d+)$"),
         re.compile(r"^java$"), re.compile(r"/(?:java-|jdk-?|jre-?|openjdk-?)(\d+(?:\.\d+)*)")),
    Rule("php", re.compile(r"^(php|php-fpm|php\d+(\.\d+)?-fpm|php\d+(\.\d+)?)$"),
         re.compile(r"^(php|php-fpm|php-fpm\d+(\.\d+)?|php\d+(\.\d+)?)$"), re.compile(r"php-?fpm-?(\d+\.\d+)")),
    Rule("python", _NEVER, re.compile(r"^python[\d.]*$"), re.compile(r"python(\d+\.\d+)")),
    Rule("node", re.compile(r"^nodejs$"), re.compile(r"^(node|nodejs)$")),
)
_TOMCAT_PROCESS = re.compile(r"org\.apache\.catalina\.startup\.Bootstrap")


def detect(packages: Iterable[Package], processes: Iterable[Process]) -> tuple[Middleware, ...]:
    packages, processes = tuple(packages), tuple(processes)
    found = []
    for rule in RULES:
        evidence: list[str] = []
        version: str | None = None
        for package in packages:
            if rule.packages.match(package.name):
                evidence.append(f"package:{package.name}")
                version = version or _package_version(package.version)
        for process in processes:
            if _runs(rule, process):
                evidence.append(f"process:{process.name}")
                version = version or _process_version(rule, process)
        if evidence:
            found.append(Middleware(kind=rule.kind, version=version, evidence=tuple(sorted(set(evidence)))))
    return tuple(found)


def _runs(rule: Rule, process: Process) -> bool:
    if rule.kind == "tomcat":
        return process.name == "java" and bool(_TOMCAT_PROCESS.search(process.args))
    return bool(rule.processes.match(process.name))


def _package_version(version: str) -> str | None:
    upstream = version.split(":", 1)[-1].rsplit("-", 1)[0] if version else ""
    return upstream or None


def _process_version(rule: Rule, process: Process) -> str | None:
    if rule.version_in_process is None:
        return None
    found = rule.version_in_process.search(f"{process.name} {process.args}")
    return found.group(1) if found else None
