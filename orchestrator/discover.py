"""Discovery as a library call: inventory → concurrent SSH probes → one stored snapshot."""

from __future__ import annotations

import getpass
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from discovery import dependencies
from discovery.collect import Connector, Sampling, probe_each
from discovery.diff import SnapshotDiff, diff
from discovery.facts import (
    Connection,
    CpuInfo,
    FactError,
    HostFacts,
    Interface,
    Listener,
    ObservedConnection,
    OsInfo,
)
from discovery.transport import (
    Credential,
    HandshakeLimits,
    Jump,
    KnownHostsFile,
    ParamikoTransport,
    Secret,
    SshOptions,
    SshTarget,
)
from orchestrator import audit
from orchestrator.errors import InputError
from orchestrator.inventory import InventoryCredential, InventoryHost, load_inventory, select
from orchestrator.store import Store
from orchestrator.workspace import Workspace

EXPORT_SCHEMA_VERSION = 1
BATCH_HOSTS, BATCH_SECONDS = 32, 1.0  # finished hosts stored per transaction, at the latest after this long
ProgressCallback = Callable[[HostFacts], None]
Prompt = Callable[[str], str]  # shows the text, returns what was typed (getpass: no echo)
ASK_PASS = "--ask-pass"  # noqa: S105 (the name the --ask-pass password is kept under, not a password)
# facts added after the first export shape: additive keys, same schema_version
EXTRA_KEYS = ("packages", "services", "interfaces", "default_gateway", "dns_servers", "mounts", "cron_jobs",
              "virtualization", "eol", "middleware", "processes", "samples", "observed_connections",
              "utilisation")


@dataclass(frozen=True, slots=True)
class HostSummary:
    """What a discovery keeps of one host once its facts are stored: the summary table's columns, the first
    errors, and what dependency edges are built from. Packages, services, processes and the rest stay in the
    store (``DiscoveryResult.iter_facts``)."""

    name: str
    address: str
    reachable: bool
    hostname: str | None
    os: OsInfo | None
    cpu: CpuInfo | None
    memory_mb: int | None
    interfaces: tuple[Interface, ...]
    listening: tuple[Listener, ...]
    connections: tuple[Connection, ...]
    observed_connections: tuple[ObservedConnection, ...]
    samples: int
    errors: tuple[FactError, ...]
    collected_at: datetime | None

    @classmethod
    def of(cls, facts: HostFacts) -> HostSummary:
        """Shares the facts' own (frozen) objects: nothing is copied."""
        return cls(name=facts.name, address=facts.address, reachable=facts.reachable, hostname=facts.hostname,
                   os=facts.os, cpu=facts.cpu, memory_mb=facts.memory_mb, interfaces=facts.interfaces,
                   listening=facts.listening, connections=facts.connections,
                   observed_connections=facts.observed_connections, samples=facts.samples, errors=facts.errors,
                   collected_at=facts.collected_at)


@dataclass(frozen=True)
class DiscoveryResult:
    """One stored snapshot: a summary of each host in the inventory's order; the full facts are read back
    from the store on demand (``iter_facts`` one host at a time, ``facts`` all at once)."""

    snapshot_id: int
    hosts: tuple[HostSummary, ...]
    db_path: Path

    @property
    def failed(self) -> tuple[HostSummary, ...]:
        return tuple(h for h in self.hosts if not h.reachable)

    @property
    def dependencies(self) -> dependencies.Dependencies:
        return dependencies.build(self.hosts)

    def iter_facts(self) -> Iterator[HostFacts]:
        """Every host's stored facts, in the inventory's order, one at a time."""
        with Store.open(self.db_path) as store:
            yield from store.host_facts(self.snapshot_id, [h.name for h in self.hosts])

    @property
    def facts(self) -> tuple[HostFacts, ...]:
        """Every host's stored facts at once (for a few hosts; thousands take gigabytes: use iter_facts)."""
        return tuple(self.iter_facts())


def known_hosts_for(host: InventoryHost, ws: Workspace, explicit: Path | None) -> Path:
    """--known-hosts, else the host's UserKnownHostsFile, else the workspace's .pindah/known_hosts."""
    return explicit or host.known_hosts_file or ws.known_hosts


def plan_targets(ws: Workspace, inventory_path: Path, limit: str | None, known_hosts: Path | None, *,
                 ask_pass: bool = False, passwords: Mapping[str, Secret] | None = None,
                 prompt: Prompt | None = None) -> list[tuple[SshTarget, KnownHostsFile]]:
    """The selected inventory hosts as SSH targets, one shared KnownHostsFile per distinct path.

    Passwords still to be typed (``password_prompt`` sets, ``ask_pass``) are asked here, before any probe.
    """
    hosts = select(load_inventory(inventory_path), limit)
    if not hosts:
        raise InputError(f"no host matches --limit {limit!r}", source=str(inventory_path),
                         hint="use host or group names from the inventory, globs with *, lists with ','")
    typed = ask_passwords(hosts, ask_pass, prompt, known=passwords or {})
    files: dict[Path, KnownHostsFile] = {}
    targets = []
    for host in hosts:
        path = known_hosts_for(host, ws, known_hosts).resolve()
        known = files.setdefault(path, KnownHostsFile(path))
        targets.append((target_of(host, typed), known))
    return targets


def prompt_key(credential: InventoryCredential) -> str:
    """The name a ``password_prompt`` credential set is asked (and its password kept) under: one per user."""
    return f"pindah_credentials user {credential.user}"


def ask_passwords(hosts: Iterable[InventoryHost], ask_pass: bool = False, prompt: Prompt | None = None, *,
                  known: Mapping[str, Secret] | None = None) -> dict[str, Secret]:
    """Ask, once each, the passwords the hosts' ``password_prompt`` credential sets (and ``--ask-pass``) need.

    Without ``prompt`` the terminal is used (getpass, no echo); with no terminal this is an input error
    naming the credential set, as a run in CI must not wait for a password nobody types.
    """
    wanted = [ASK_PASS] if ask_pass else []
    for host in hosts:
        wanted += [prompt_key(c) for c in host.credentials if c.password_prompt]
    typed = dict(known or {})
    for key in dict.fromkeys(wanted):
        if key in typed:
            continue
        if prompt is None and not _interactive():
            raise InputError(f"{key}: a password to type, but there is no terminal to type it on",
                             source=key, hint="in non-interactive runs give the set password_env: VARIABLE (the "
                             "name of an environment variable holding the password) instead of a prompt")
        label = "SSH password (--ask-pass)" if key == ASK_PASS else f"SSH password for {key}"
        try:
            value = (prompt or getpass.getpass)(f"{label}: ")
        except EOFError:
            raise InputError(f"{key}: no password was typed (end of input)", source=key,
                             hint="type the password at the prompt, or use password_env") from None
        if not value:
            raise InputError(f"{key}: an empty password was typed", source=key,
                             hint="type the password at the prompt, or use password_env") from None
        typed[key] = Secret(value)
    return typed


def _interactive() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def target_of(host: InventoryHost, passwords: Mapping[str, Secret] | None = None) -> SshTarget:
    """An inventory host as an SSH target: bastions, credential sets (typed passwords from ``passwords``,
    ``--ask-pass``'s last) and become included."""
    typed = passwords or {}
    credentials = []
    for c in host.credentials:
        if c.password_prompt:
            if prompt_key(c) not in typed:
                raise InputError(f"host {host.name!r}: {prompt_key(c)} needs a password that was not asked",
                                 source=host.name, hint="ask it with ask_passwords() before building targets")
            credentials.append(Credential(user=c.user, password=typed[prompt_key(c)], label=prompt_key(c)))
        else:
            credentials.append(Credential(user=c.user, key_file=c.key_file, agent=c.agent,
                                          password_env=c.password_env))
    if ASK_PASS in typed:
        credentials.append(Credential(password=typed[ASK_PASS], label=ASK_PASS))
    return SshTarget(name=host.name, address=host.address, port=host.port, user=host.user, key_file=host.key_file,
                     become=_truthy(host.vars.get("ansible_become")), jumps=parse_jumps(host.proxy_jump),
                     credentials=tuple(credentials))


def parse_jumps(spec: str | None) -> tuple[Jump, ...]:
    """OpenSSH's ProxyJump list ``[user@]host[:port],...`` (outermost first) → Jumps."""
    return tuple(j for j in (parse_jump(hop.strip()) for hop in (spec or "").split(",")) if j is not None)


def parse_jump(spec: str | None) -> Jump | None:
    """One hop: ``[user@]host[:port]`` (IPv6 as ``[addr]:port``) → Jump."""
    if not spec:
        return None
    user, _, rest = spec.rpartition("@")
    host, port = rest, 22
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port = int(tail[1:]) if tail.startswith(":") and tail[1:].isdigit() else 22
    elif rest.count(":") == 1:
        name, _, number = rest.partition(":")
        if number.isdigit():
            host, port = name, int(number)
    return Jump(address=host, port=port, user=user or None)


def _truthy(value: Any) -> bool:
    """Ansible's booleans: true/yes/on/1 in any case, or a real bool."""
    return value is True or str(value).strip().lower() in ("true", "yes", "on", "1")


def discover(ws: Workspace, inventory_path: Path, *, limit: str | None = None, forks: int = 10,
             known_hosts: Path | None = None, accept_new: bool = False, timeout: float = 10.0,
             samples: int = 1, interval: int = 5, max_handshakes: int = 8,
             progress_callback: ProgressCallback | None = None,
             connector: Connector = ParamikoTransport.connect, ask_pass: bool = False,
             passwords: Mapping[str, Secret] | None = None, prompt: Prompt | None = None) -> DiscoveryResult:
    """Probe the inventory's (selected) hosts and store one snapshot holding all of them.

    Errors before probing (bad inventory, nothing selected, a password to type without a terminal) raise
    and store nothing. Typed passwords (``passwords``, else asked through ``prompt``) stay in memory.
    The snapshot is opened before probing and each host is stored as it finishes; it is marked complete only
    at the end, so an interrupted discovery leaves an incomplete snapshot that readers ignore (and loses
    nothing stored before).
    """
    if forks < 1:
        raise InputError("--forks must be at least 1", source="--forks", hint="e.g. --forks 20")
    if samples < 1 or interval < 1:
        raise InputError("--samples and --interval must be at least 1", source="--samples/--interval",
                         hint="e.g. --samples 6 --interval 10 (one minute of observation)")
    targets = plan_targets(ws, inventory_path, limit, known_hosts, ask_pass=ask_pass, passwords=passwords,
                           prompt=prompt)
    sampling = Sampling(samples, interval)
    options = SshOptions(accept_new_host_keys=accept_new, timeout=timeout,
                         deadline=host_deadline(timeout) + sampling.seconds,
                         limits=HandshakeLimits(per_sshd=max_handshakes, per_bastion=max_handshakes))
    source = str(inventory_path.resolve())
    with Store.open(ws.db_path, create=True) as store:
        snapshot_id = store.begin_snapshot(source, len(targets))
        summaries = _probe_into(store, snapshot_id, probe_each(targets, options, forks, connector,
                                                               sampling=sampling), len(targets), progress_callback)
        store.finish_snapshot(snapshot_id)
        audit.record(store, kind="discovery", subject=f"snapshot {snapshot_id}",
                     data={"inventory": source, "limit": limit, "hosts": len(summaries),
                           "unreachable": sorted(h.name for h in summaries if not h.reachable)})
    return DiscoveryResult(snapshot_id=snapshot_id, hosts=tuple(summaries), db_path=ws.db_path)


def _probe_into(store: Store, snapshot_id: int, finished: Iterator[tuple[int, HostFacts]], count: int,
                progress_callback: ProgressCallback | None) -> list[HostSummary]:
    """Store each host's facts as it finishes (batched: one transaction per BATCH_HOSTS hosts or
    BATCH_SECONDS); keep only its summary. Summaries in the targets' order."""
    summaries: list[HostSummary | None] = [None] * count
    batch: list[tuple[str, bool, str]] = []
    flushed = time.monotonic()
    for index, facts in finished:
        batch.append((facts.name, facts.reachable, facts.model_dump_json()))
        summaries[index] = HostSummary.of(facts)
        if progress_callback is not None:
            progress_callback(facts)
        del facts
        if len(batch) >= BATCH_HOSTS or time.monotonic() - flushed >= BATCH_SECONDS:
            store.add_snapshot_hosts(snapshot_id, batch)
            batch, flushed = [], time.monotonic()
    store.add_snapshot_hosts(snapshot_id, batch)
    return [s for s in summaries if s is not None]


def host_deadline(timeout: float) -> float:
    """The outside limit for one host: connect + handshake + auth + the probe script, with slack."""
    return max(4 * timeout, timeout + 20.0)


def export_host(facts: HostFacts) -> dict[str, Any]:
    """One host in the export/--json shape; unknown values are null."""
    data = facts.model_dump(mode="json")
    os_info = data["os"]
    return {
        "name": facts.name, "address": facts.address, "reachable": facts.reachable,
        "hostname": facts.hostname,
        "os": None if os_info is None else {k: os_info[k] for k in ("id", "version_id", "name", "family",
                                                                     "pretty_name")},
        "cpu": data["cpu"], "memory_mb": facts.memory_mb, "disks": data["disks"],
        "listening": [{"port": x["port"], "protocol": x["protocol"], "address": x["address"],
                       "process": x["process"]} for x in data["listening"]],
        "connections": data["connections"], "errors": data["errors"],
        **{key: data[key] for key in EXTRA_KEYS},
        "completeness": data["completeness"], "collected_at": data["collected_at"],
    }


def export_dependencies(facts: Sequence[dependencies.LinkSource]) -> dict[str, Any]:
    """Edges between the hosts and endpoints outside them, in the export/--json shape."""
    found = dependencies.build(facts)
    return {"dependencies": [e.model_dump(mode="json") for e in found.edges],
            "external_endpoints": [e.model_dump(mode="json") for e in found.external]}


def export_document(facts: Sequence[HostFacts]) -> dict[str, Any]:
    return {"schema_version": EXPORT_SCHEMA_VERSION, "hosts": [export_host(f) for f in facts],
            **export_dependencies(facts)}


def failure_summary(facts: HostFacts | HostSummary) -> dict[str, Any]:
    first = facts.errors[0] if facts.errors else None
    return {"name": facts.name, "address": facts.address,
            "category": first.category if first else None, "message": first.message if first else None,
            "hint": first.hint if first else None}


def diff_snapshots(ws: Workspace, first: int | None = None,
                   second: int | None = None) -> tuple[int, int, SnapshotDiff]:
    """Compare two stored snapshots: by default the two latest; one id compares it with the latest."""
    with Store.open(ws.db_path) as store:
        ids = [s.id for s in store.snapshots()]
        if first is None and len(ids) < 2:
            raise InputError(f"need two discovery snapshots to compare, the workspace has {len(ids)}",
                             source="inventory diff", hint="run 'pindah discover -i INVENTORY' again")
        a = first if first is not None else ids[-2]
        b = second if second is not None else ids[-1]
        for wanted in (a, b):
            if wanted not in ids:
                raise InputError(f"no snapshot {wanted}", source="inventory diff",
                                 hint=f"known snapshots: {', '.join(map(str, ids)) or 'none'}")
        return a, b, diff(store.snapshot_facts(a), store.snapshot_facts(b))
