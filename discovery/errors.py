"""discovery's one root exception and its narrow subclasses."""

from __future__ import annotations

from enum import StrEnum


class FailureCategory(StrEnum):
    """Why a host (or one fact of it) could not be probed."""

    DNS = "dns"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"  # no route to the address (no ARP answer, ICMP host/net unreachable)
    TIMEOUT = "timeout"
    AUTH = "auth"
    HOST_KEY_UNKNOWN = "host_key_unknown"
    HOST_KEY_MISMATCH = "host_key_mismatch"
    COMMAND = "command"
    PARSE = "parse"
    PROTOCOL = "protocol"
    PARTIAL = "partial"  # a fact was collected, but not all of it (e.g. without root)


HINTS: dict[FailureCategory, str] = {
    FailureCategory.DNS: "check the host name or set ansible_host to an address",
    FailureCategory.REFUSED: "is sshd running and is ansible_port right? check firewalls",
    FailureCategory.UNREACHABLE: "no route to the address: host down or off this network (no ARP answer, "
                                 "ICMP unreachable); check ansible_host and the routes to it",
    FailureCategory.TIMEOUT: "host down, filtered, or sshd overloaded; raise the timeout or lower --forks",
    FailureCategory.AUTH: "check ansible_user and ansible_ssh_private_key_file",
    FailureCategory.HOST_KEY_UNKNOWN: "add the host key to known_hosts, or re-run with --accept-new-host-keys",
    FailureCategory.HOST_KEY_MISMATCH: "the host key CHANGED: verify the host out of band before trusting it",
    FailureCategory.COMMAND: "the probe command failed on the host; see the output tail",
    FailureCategory.PARSE: "the command output was not understood; please report it with the output",
    FailureCategory.PROTOCOL: "the SSH session broke; retry, or check the server's sshd logs",
    FailureCategory.PARTIAL: "set ansible_become (passwordless sudo) for the host to see everything",
}


class DiscoveryError(Exception):
    """Root of discovery's errors; ``category`` says what kind of failure it was."""

    category: FailureCategory = FailureCategory.PROTOCOL

    def __init__(self, message: str, *, host: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.host = host
        self.hint = hint or HINTS[self.category]


class DnsFailure(DiscoveryError):
    category = FailureCategory.DNS


class ConnectRefused(DiscoveryError):
    category = FailureCategory.REFUSED


class ConnectUnreachable(DiscoveryError):
    category = FailureCategory.UNREACHABLE


class ConnectTimeout(DiscoveryError):
    category = FailureCategory.TIMEOUT


class AuthFailed(DiscoveryError):
    category = FailureCategory.AUTH


class HostKeyUnknown(DiscoveryError):
    category = FailureCategory.HOST_KEY_UNKNOWN


class HostKeyMismatch(DiscoveryError):
    category = FailureCategory.HOST_KEY_MISMATCH


class CommandFailed(DiscoveryError):
    """A command ran and exited non-zero; carries the command, exit code and output tail."""

    category = FailureCategory.COMMAND

    def __init__(self, message: str, *, host: str = "", command: str = "", exit_status: int = -1,
                 output_tail: str = "", hint: str = "") -> None:
        super().__init__(message, host=host, hint=hint)
        self.command = command
        self.exit_status = exit_status
        self.output_tail = output_tail


class ParseError(DiscoveryError):
    """A parser could not make sense of a command's output."""

    category = FailureCategory.PARSE
