"""Collection: probe many hosts concurrently (bounded by ``forks``); a failed host is data."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

from discovery.assemble import facts_from_sections, unreachable
from discovery.errors import CommandFailed, DiscoveryError, FailureCategory
from discovery.facts import Completeness, FactError, HostFacts
from discovery.probes import samples, script, sockets
from discovery.transport import KnownHostsFile, ParamikoTransport, SshOptions, SshTarget, Transport

ProgressCallback = Callable[[HostFacts], None]


@dataclass(frozen=True)
class Sampling:
    """Poll connections and utilisation ``count`` times, ``interval`` seconds apart, in the same session."""

    count: int
    interval: int

    @property
    def seconds(self) -> int:
        return max(0, self.count - 1) * self.interval


class Connector(Protocol):
    def __call__(self, target: SshTarget, options: SshOptions, known: KnownHostsFile) -> Transport: ...


TRANSIENT = frozenset({FailureCategory.REFUSED, FailureCategory.UNREACHABLE, FailureCategory.TIMEOUT,
                       FailureCategory.PROTOCOL})


def connect_with_retry(connector: Connector, target: SshTarget, options: SshOptions,
                       known: KnownHostsFile) -> Transport:
    """Retry transient failures (refused, dropped by MaxStartups, reset, timed out) with exponential back-off
    and jitter, at most ``options.retries`` times; a failure that used up the timeout is retried once only,
    so a dead host costs at most two timeouts. Authentication and host key failures are never retried."""
    attempt, slow_retried = 0, False
    while True:
        started = time.monotonic()
        try:
            return connector(target, options, known)
        except DiscoveryError as exc:
            if attempt >= options.retries or exc.category not in TRANSIENT:
                raise
            if time.monotonic() - started >= options.timeout * 0.8:
                if slow_retried:
                    raise
                slow_retried = True
        time.sleep(options.backoff * 2**attempt * random.uniform(0.5, 1.5))
        attempt += 1


def probe_host(target: SshTarget, options: SshOptions, known: KnownHostsFile,
               connector: Connector = ParamikoTransport.connect, sampling: Sampling | None = None) -> HostFacts:
    """Every probe on one host over one SSH exec; never raises for a host-level failure."""
    try:
        transport = connect_with_retry(connector, target, options, known)
    except DiscoveryError as exc:
        return unreachable(target.name, target.address, exc)
    try:
        nonce = script.new_nonce()
        command = script.wrap_for_shell(script.build_script(nonce), become=target.become)
        result = transport.run(command)
        sections = script.split_output(result.stdout, nonce)
        if not sections:
            raise CommandFailed(f"the probe script printed no markers (exit {result.exit_status})",
                                host=target.name, command="/bin/sh -c <probe script>",
                                exit_status=result.exit_status, output_tail=(result.stderr or result.stdout)[-400:])
        # our own SSH session is an artefact of looking, not a dependency of the host
        own = getattr(transport, "local_endpoint", None)
        facts = facts_from_sections(target.name, target.address, sections, ignore_peer=own)
        if sampling is not None and sampling.count > 1:
            facts = sample_host(transport, target, facts, sampling, own)
        return facts
    except DiscoveryError as exc:
        return unreachable(target.name, target.address, exc)
    except Exception as exc:  # a bug must not sink the whole run: record it against this host
        return unreachable(target.name, target.address,
                           DiscoveryError(f"unexpected {type(exc).__name__}: {exc}", host=target.name))
    finally:
        transport.close()


def sample_host(transport: Transport, target: SshTarget, facts: HostFacts, sampling: Sampling,
                own: tuple[str, int] | None) -> HostFacts:
    """Add observed connections and utilisation; a failed sampling run is a fact error, not a lost host."""
    nonce = script.new_nonce()
    command = script.wrap_for_shell(script.build_script(nonce, {"samples": samples.command(
        sampling.count, sampling.interval)}), become=target.become)
    try:
        result = transport.run(command)
        section = script.split_output(result.stdout, nonce).get("samples")
        raw = samples.parse(section.text if section else "")
        peer = (sockets.normalize_address(own[0]), own[1]) if own else None
        observed, usage = samples.observe(raw, peer), samples.utilisation(raw)
    except (DiscoveryError, ValueError, IndexError) as exc:
        error = exc if isinstance(exc, DiscoveryError) else DiscoveryError(f"{type(exc).__name__}: {exc}")
        return facts.model_copy(update={
            "completeness": {**facts.completeness, "samples": Completeness.FAILED},
            "errors": (*facts.errors, FactError(fact="samples", category=error.category.value,
                                                message=error.message, hint=error.hint))})
    level = Completeness.COMPLETE if len(raw) == sampling.count else Completeness.PARTIAL
    return facts.model_copy(update={"samples": len(raw), "observed_connections": observed,
                                    "utilisation": usage, "completeness": {**facts.completeness, "samples": level}})


def probe_each(targets: Sequence[tuple[SshTarget, KnownHostsFile]], options: SshOptions, forks: int,
               connector: Connector = ParamikoTransport.connect, *,
               sampling: Sampling | None = None) -> Iterator[tuple[int, HostFacts]]:
    """Probe every target with at most ``forks`` at once; ``(index in targets, facts)`` as each host finishes.

    Only the hosts in flight are held here: a finished host's facts leave with the caller, who should store
    them and let them go (at 2,700 hosts keeping them all would take gigabytes). A host is started only
    while fewer than ``2 * forks`` are started and not yet taken by the caller, so a caller slower than the
    probes (the probe threads outnumber it for the GIL) holds the probes back instead of letting finished
    facts pile up.
    """
    window = 2 * max(1, forks)
    pending = iter(enumerate(targets))
    with ThreadPoolExecutor(max_workers=max(1, forks), thread_name_prefix="probe") as pool:
        running: dict[Future[HostFacts], int] = {}

        def start(count: int) -> None:
            for index, (target, known) in islice(pending, count):
                running[pool.submit(probe_host, target, options, known, connector, sampling)] = index

        start(window)
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index = running.pop(future)  # the future holds the facts: drop it once taken
                yield index, future.result()
                start(1)


def probe_all(targets: Sequence[tuple[SshTarget, KnownHostsFile]], options: SshOptions, forks: int,
              on_done: ProgressCallback | None = None,
              connector: Connector = ParamikoTransport.connect, *,
              sampling: Sampling | None = None) -> list[HostFacts]:
    """Probe every target with at most ``forks`` at once; results in the targets' order (all held in memory:
    for many hosts use :func:`probe_each`)."""
    results: dict[int, HostFacts] = {}
    for index, facts in probe_each(targets, options, forks, connector, sampling=sampling):
        results[index] = facts
        if on_done is not None:
            on_done(facts)
    return [results[index] for index in range(len(targets))]
