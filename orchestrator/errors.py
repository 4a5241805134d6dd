"""The orchestrator's one root exception and its narrow subclasses.

Every error carries a ``hint``: what the user can do about it. Messages never carry secrets.
"""

from __future__ import annotations


class PindahError(Exception):
    """Root of every error pindah raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class WorkspaceNotFound(PindahError):
    """No pindah workspace at or above the given directory."""


class WorkspaceError(PindahError):
    """The workspace exists but cannot be used as it is."""


class StoreError(PindahError):
    """The workspace store (SQLite) is missing, corrupt or from a newer pindah."""


class InputError(PindahError):
    """A file the user gave (inventory, CSV, plan, catalog) is malformed.

    ``source`` names the file and ``line`` the 1-based line where known.
    """

    def __init__(self, message: str, *, source: str, line: int | None = None, hint: str = "") -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}", hint=hint)
        self.source = source
        self.line = line


class PlanError(PindahError):
    """A plan cannot be built, read or used."""


class LabError(PindahError):
    """The lab estate could not be built, queried or torn down."""


class RunError(PindahError):
    """A migration run could not start or continue."""


class CloudError(PindahError):
    """The national cloud's EC2/S3-compatible API refused or failed."""
