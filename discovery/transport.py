"""SSH transport: a small Protocol and its one real implementation over paramiko.

Host keys are checked against one known_hosts file (hashed and ``[host]:port`` entries included).
An unknown key fails as host_key_unknown unless new keys are accepted, in which case the key is
appended to that file; a changed key always fails. A watchdog closes the socket when the host's
outside deadline passes, because paramiko can block past its own timeouts.

A host behind bastions (``ProxyJump a,b,c``) is reached hop by hop: a session to the first bastion, a
``direct-tcpip`` channel through it to the next one, and so on; every hop's host key is verified the same way
and a failure names the hop. The watchdog and :meth:`ParamikoTransport.close` close every hop.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import paramiko
from paramiko.buffered_pipe import PipeTimeout

from discovery.errors import (
    AuthFailed,
    CommandFailed,
    ConnectRefused,
    ConnectTimeout,
    ConnectUnreachable,
    DiscoveryError,
    DnsFailure,
    HostKeyMismatch,
    HostKeyUnknown,
)


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str


class Transport(Protocol):
    def run(self, command: str) -> CommandResult: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Credential:
    """One way to log in. A password is held only when it was typed at a prompt (``password``, kept in
    memory, never printed); otherwise only the NAME of the environment variable holding it."""

    user: str | None = None
    key_file: Path | None = None
    agent: bool = False
    password_env: str | None = None
    password: Secret | None = field(default=None, repr=False)
    label: str | None = None  # what the prompt called this credential set

    def describe(self) -> str:
        how = (f"key {self.key_file}" if self.key_file else "agent" if self.agent
               else f"password from ${self.password_env}" if self.password_env
               else f"the password typed for {self.label or 'it'}" if self.password is not None
               else "default keys")
        return f"{self.user or '(default user)'} with {how}"


class Secret:
    """A password typed at a prompt: in memory only; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not serialised")


@dataclass(frozen=True)
class Jump:
    """A bastion (``ProxyJump``) the target is reached through; its host key is verified like any other."""

    address: str
    port: int = 22
    user: str | None = None

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class SshTarget:
    name: str
    address: str
    port: int = 22
    user: str | None = None
    key_file: Path | None = None
    become: bool = False  # run probes through ``sudo -n`` when it works (ansible_become)
    jumps: tuple[Jump, ...] = ()  # ProxyJump bastions, outermost first
    credentials: tuple[Credential, ...] = ()  # tried in order after user/key_file; empty: user/key_file only

    def logins(self) -> tuple[Credential, ...]:
        """The credential sets to try, in order: the host's own user/key first, then the listed ones."""
        first = Credential(user=self.user, key_file=self.key_file)
        if not self.credentials:
            return (first,)
        rest = tuple(replace(c, user=c.user or self.user) for c in self.credentials)
        return ((first,) if self.key_file else ()) + rest


class HandshakeLimits:
    """At most ``per_sshd`` concurrent handshakes per (address, port) and ``per_bastion`` per bastion
    (OpenSSH's default MaxStartups 10:30:100 starts dropping beyond 10); 0 means unlimited."""

    def __init__(self, per_sshd: int = 8, per_bastion: int = 8) -> None:
        self.per_sshd, self.per_bastion = per_sshd, per_bastion
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, str, int], threading.BoundedSemaphore] = {}

    def _slot(self, kind: str, address: str, port: int, limit: int) -> threading.BoundedSemaphore:
        with self._lock:
            return self._slots.setdefault((kind, address, port), threading.BoundedSemaphore(limit))

    @contextmanager
    def hold(self, target: SshTarget) -> Iterator[None]:
        """One slot of every bastion on the way and of the target's sshd, taken in one global order so that
        chains crossing the same bastions in different orders cannot deadlock."""
        wanted = {("bastion", j.address, j.port): self.per_bastion for j in target.jumps if self.per_bastion > 0}
        if self.per_sshd > 0:
            wanted["sshd", target.address, target.port] = self.per_sshd
        with ExitStack() as stack:
            for key in sorted(wanted):
                stack.enter_context(self._slot(*key, wanted[key]))
            yield


@dataclass(frozen=True)
class SshOptions:
    accept_new_host_keys: bool = False
    timeout: float = 10.0
    deadline: float = 60.0
    retries: int = 2  # extra connection attempts after a quick transient failure (refused, dropped, reset)
    backoff: float = 0.5  # seconds before the first retry; doubles, with jitter
    limits: HandshakeLimits | None = field(default=None, compare=False)


@dataclass
class KnownHostsFile:
    """One known_hosts file shared by all worker threads: parsed once, appends serialised."""

    path: Path
    lock: threading.Lock = field(default_factory=threading.Lock)
    _keys: paramiko.HostKeys | None = None

    def _parsed(self) -> paramiko.HostKeys:
        if self._keys is None:
            self._keys = paramiko.HostKeys()
            if self.path.is_file():
                self._keys.load(str(self.path))
        return self._keys

    def load_into(self, keys: paramiko.HostKeys, entry: str) -> None:
        """Copy the known keys of ``entry`` (``host`` or ``[host]:port``) into ``keys``."""
        with self.lock:
            found = self._parsed().lookup(entry)
        for key_type, key in (found or {}).items():
            keys.add(entry, key_type, key)

    def accept(self, entry: str, key: paramiko.PKey, host: str) -> None:
        """Record a new key for ``entry``; a key another thread recorded meanwhile must be the same one."""
        with self.lock:
            known = self._parsed().lookup(entry)
            if known:
                if known.get(key.get_name()) == key:
                    return
                raise HostKeyMismatch(f"{entry} presented {key.get_name()} {key.fingerprint}, but a different "
                                      f"key was recorded for it in {self.path} during this run", host=host)
            self._parsed().add(entry, key.get_name(), key)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(f"{entry} {key.get_name()} {key.get_base64()}\n")


def host_key_entry(address: str, port: int) -> str:
    """The known_hosts name of a host: ``address`` on port 22, else ``[address]:port``."""
    return address if port == 22 else f"[{address}]:{port}"


class _Policy(paramiko.MissingHostKeyPolicy):
    def __init__(self, known: KnownHostsFile, accept_new: bool, name: str) -> None:
        self.known, self.accept_new, self.name = known, accept_new, name

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if not self.accept_new:
            raise HostKeyUnknown(f"{hostname} presented an unknown {key.get_name()} host key "
                                 f"(fingerprint {key.fingerprint}) not in {self.known.path}", host=self.name)
        self.known.accept(hostname, key, self.name)
        client.get_host_keys().add(hostname, key.get_name(), key)


NO_ROUTE = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN})


def _open_socket(target: SshTarget | Jump, timeout: float) -> socket.socket:
    try:
        infos = socket.getaddrinfo(target.address, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DnsFailure(f"cannot resolve {target.address}: {exc.strerror}", host=_name(target)) from exc
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.settimeout(timeout)
    try:
        sock.connect(sockaddr)
    except ConnectionRefusedError as exc:
        sock.close()
        raise ConnectRefused(f"{target.address}:{target.port} refused the connection", host=_name(target)) from exc
    except TimeoutError as exc:
        sock.close()
        raise ConnectTimeout(f"no answer from {target.address}:{target.port} within {timeout:g}s",
                             host=_name(target)) from exc
    except OSError as exc:
        sock.close()
        if exc.errno in NO_ROUTE:
            raise ConnectUnreachable(f"no route to {target.address}:{target.port}: {exc.strerror}",
                                     host=_name(target)) from exc
        raise ConnectRefused(f"cannot reach {target.address}:{target.port}: {exc.strerror}",
                             host=_name(target)) from exc
    return sock


def _auth_arguments(login: Credential, host: str) -> dict[str, Any]:
    """paramiko's connect() arguments for one credential set; a password is read from the environment here."""
    if login.key_file is not None:
        return {"key_filename": str(login.key_file), "look_for_keys": False, "allow_agent": False}
    if login.agent:
        return {"look_for_keys": False, "allow_agent": True}
    if login.password is not None:
        return {"password": login.password.reveal(), "look_for_keys": False, "allow_agent": False}
    if login.password_env:
        password = os.environ.get(login.password_env)
        if password is None:
            raise AuthFailed(f"environment variable {login.password_env} (the password) is not set", host=host)
        return {"password": password, "look_for_keys": False, "allow_agent": False}
    return {"look_for_keys": True, "allow_agent": True}


def _name(target: SshTarget | Jump) -> str:
    return target.name if isinstance(target, SshTarget) else f"bastion {target.address}:{target.port}"


class ParamikoTransport:
    """An authenticated SSH session to one host. Use :meth:`connect`; always :meth:`close`."""

    def __init__(self, target: SshTarget, options: SshOptions, known: KnownHostsFile) -> None:
        self.target, self.options, self.known = target, options, known
        self._client = paramiko.SSHClient()
        self._jumps: list[paramiko.SSHClient] = []  # the bastion sessions connected so far, outermost first
        self._sock: socket.socket | None = None  # the one TCP socket: to the host, or to the first bastion
        self._expired = threading.Event()
        self._watchdog = threading.Timer(options.deadline, self._expire)
        self._watchdog.daemon = True

    @classmethod
    def connect(cls, target: SshTarget, options: SshOptions, known: KnownHostsFile) -> ParamikoTransport:
        transport = cls(target, options, known)
        limits = options.limits or HandshakeLimits(per_sshd=0, per_bastion=0)
        with limits.hold(target):  # waiting for a handshake slot is not a hang: the deadline starts after
            transport._watchdog.start()
            try:
                transport._connect()
            except BaseException:
                transport.close()
                raise
        return transport

    def _expire(self) -> None:
        self._expired.set()
        self._close_all()

    def _close_all(self) -> None:
        """Innermost first; closing the one TCP socket ends every channel tunnelled through it anyway."""
        self._client.close()
        for client in reversed(list(self._jumps)):
            client.close()
        if self._sock is not None:
            self._sock.close()

    def _connect(self) -> None:
        """Try each credential set in order; only an authentication failure moves on to the next."""
        logins = self.target.logins()
        for index, login in enumerate(logins):
            try:
                self._login(login)
                return
            except AuthFailed as failed:
                if index == len(logins) - 1:
                    tried = "; ".join(c.describe() for c in logins)
                    where = f"; last: {failed.message}" if failed.message.startswith("bastion") else ""
                    raise AuthFailed(f"authentication failed with every credential set ({tried}){where}",
                                     host=self.target.name) from None
                self._client.close()
                if not self.target.jumps and self._sock is not None:
                    self._sock.close()
                self._client = paramiko.SSHClient()

    def _login(self, login: Credential) -> None:
        target, opts = self.target, self.options
        self.known.load_into(self._client.get_host_keys(), host_key_entry(target.address, target.port))
        self._client.set_missing_host_key_policy(_Policy(self.known, opts.accept_new_host_keys, target.name))
        sock = self._route(login)
        try:
            self._client.connect(target.address, port=target.port, username=login.user, sock=sock,
                                 timeout=opts.timeout, banner_timeout=opts.timeout, auth_timeout=opts.timeout,
                                 **_auth_arguments(login, target.name))
        except DiscoveryError:
            raise
        except Exception as exc:
            raise self._classify(exc) from exc

    def _hop_name(self, index: int) -> str:
        jumps = self.target.jumps
        if len(jumps) == 1:
            return f"bastion {jumps[0]}"
        return f"bastion {index + 1} of {len(jumps)} ({jumps[index]})"

    def _route(self, login: Credential) -> Any:
        """A plain TCP socket, or a direct-tcpip channel through the last bastion of the chain (sessions to
        the bastions are this host's own; the ones already up are kept when the next credential set is tried)."""
        jumps = self.target.jumps
        if not jumps:
            self._sock = _open_socket(self.target, self.options.timeout)
            return self._sock
        while len(self._jumps) < len(jumps):
            index = len(self._jumps)
            if index == 0:
                try:
                    self._sock = _open_socket(jumps[0], self.options.timeout)
                except DiscoveryError as error:
                    error.message = f"{self._hop_name(0)}: {error.message}"
                    raise
                sock: Any = self._sock
            else:
                sock = self._channel(index - 1, jumps[index].address, jumps[index].port)
            self._jumps.append(self._connect_jump(index, login, sock))
        return self._channel(len(jumps) - 1, self.target.address, self.target.port)

    def _channel(self, index: int, address: str, port: int) -> paramiko.Channel:
        """A direct-tcpip channel from bastion ``index`` to ``address:port``."""
        transport = self._jumps[index].get_transport()
        try:
            if transport is None:
                raise paramiko.SSHException("bastion session closed")
            return transport.open_channel("direct-tcpip", (address, port), ("127.0.0.1", 0),
                                          timeout=self.options.timeout)
        except Exception as exc:
            if self._expired.is_set():
                raise self._classify(exc) from exc
            raise ConnectRefused(f"{self._hop_name(index)} could not open a channel to {address}:{port}: {exc}",
                                 host=self.target.name) from exc

    def _connect_jump(self, index: int, login: Credential, sock: Any) -> paramiko.SSHClient:
        jump, hop = self.target.jumps[index], self._hop_name(index)
        client = paramiko.SSHClient()
        self.known.load_into(client.get_host_keys(), host_key_entry(jump.address, jump.port))
        client.set_missing_host_key_policy(_Policy(self.known, self.options.accept_new_host_keys,
                                                   f"{self.target.name} ({hop})"))
        try:
            client.connect(jump.address, port=jump.port, username=jump.user or login.user, sock=sock,
                           timeout=self.options.timeout, banner_timeout=self.options.timeout,
                           auth_timeout=self.options.timeout, **_auth_arguments(login, self.target.name))
        except DiscoveryError as known_error:
            client.close()
            if not known_error.message.startswith("bastion"):
                known_error.message = f"{hop}: {known_error.message}"
            raise
        except Exception as exc:
            client.close()
            error = self._classify(exc, address=jump.address)
            error.message = f"{hop}: {error.message}"
            raise error from exc
        return client

    def _classify(self, exc: Exception, during: str = "handshake", address: str | None = None) -> DiscoveryError:
        name = self.target.name
        if self._expired.is_set():
            return ConnectTimeout(f"host deadline of {self.options.deadline:g}s passed", host=name)
        if isinstance(exc, paramiko.BadHostKeyException):
            return HostKeyMismatch(f"host key for {address or self.target.address} CHANGED: got "
                                   f"{exc.key.get_name()} {exc.key.fingerprint}, known_hosts "
                                   f"{self.known.path} has {exc.expected_key.fingerprint}", host=name)
        if isinstance(exc, paramiko.AuthenticationException):
            return AuthFailed(f"authentication failed for user {self.target.user or '(default)'}", host=name)
        text, cause = str(exc).lower(), _root_cause(exc)
        if "banner" in text and not isinstance(cause, TimeoutError | socket.timeout):
            # EOF or reset before/within the banner: not an SSH server, or sshd dropped us (MaxStartups)
            return DiscoveryError(f"the server closed the connection before the SSH banner "
                                  f"({type(cause).__name__}{': ' + str(cause) if str(cause) else ''}): not an "
                                  "SSH server, or sshd dropped the connection (MaxStartups)", host=name)
        if isinstance(exc, TimeoutError | socket.timeout | PipeTimeout) or "banner" in text \
                or "no existing session" in text:
            # paramiko's negotiation timeout returns silently and auth then finds "No existing session"
            if during == "command":
                return ConnectTimeout(f"the command sent nothing for {self.options.timeout:g}s", host=name)
            return ConnectTimeout(f"SSH handshake did not complete within {self.options.timeout:g}s",
                                  host=name)
        if isinstance(exc, paramiko.SSHException | OSError | EOFError):
            return DiscoveryError(f"SSH session failed: {exc}", host=name)
        return DiscoveryError(f"SSH session failed: {type(exc).__name__}: {exc}", host=name)

    def run(self, command: str) -> CommandResult:
        """Run one command; stdout/stderr decoded leniently. Timeouts map to ConnectTimeout.

        Both streams are read at once: SSH flow control shares one window between them, so reading stdout
        to its end before stderr would stall forever on a command writing megabytes to stderr first. A
        channel that closes without an exit status (connection dropped mid-command) is a protocol failure.
        """
        try:
            _, out, err = self._client.exec_command(command, timeout=self.options.timeout)
            out.channel.shutdown_write()
            errors: list[Exception] = []
            stderr_bytes: list[bytes] = []
            reader = threading.Thread(target=_drain, args=(err, stderr_bytes, errors), daemon=True)
            reader.start()
            stdout = out.read().decode("utf-8", "replace")
            reader.join()
            if errors:
                raise errors[0]
            stderr = b"".join(stderr_bytes).decode("utf-8", "replace")
            status = out.channel.recv_exit_status()
        except Exception as exc:
            raise self._classify(exc, during="command") from exc
        if self._expired.is_set():
            raise ConnectTimeout(f"host deadline of {self.options.deadline:g}s passed", host=self.target.name)
        if status == -1:
            raise DiscoveryError("the connection closed before the command finished (no exit status; "
                                 f"{len(stdout)} bytes of output so far)", host=self.target.name)
        return CommandResult(status, stdout, stderr)

    @property
    def local_endpoint(self) -> tuple[str, int] | None:
        """This session's own (address, port), as the host sees the peer of its SSH connection."""
        if self._sock is None or self.target.jumps:
            return None  # through a bastion the host sees the bastion's end, which we cannot name
        try:
            address, port = self._sock.getsockname()[:2]
        except OSError:
            return None
        return str(address), int(port)

    def close(self) -> None:
        self._watchdog.cancel()
        self._close_all()


def _drain(stream: Any, sink: list[bytes], errors: list[Exception]) -> None:
    try:
        sink.append(stream.read())
    except Exception as exc:  # handed to the reading thread, which classifies it
        errors.append(exc)


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception paramiko wrapped (it re-raises socket errors as SSHException)."""
    seen = {id(exc)}
    while exc.__context__ is not None and id(exc.__context__) not in seen:
        exc = exc.__context__
        seen.add(id(exc))
    return exc


def check(result: CommandResult, command: str, host: str) -> CommandResult:
    """Raise CommandFailed (with the output tail) when ``result`` did not exit 0."""
    if result.exit_status != 0:
        tail = (result.stderr or result.stdout)[-400:]
        raise CommandFailed(f"command exited {result.exit_status}", host=host, command=command,
                            exit_status=result.exit_status, output_tail=tail)
    return result
