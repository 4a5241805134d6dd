"""A parser's way to say "this is what I saw, but it is not everything" (e.g. no root for other users' crontabs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Partial:
    value: Any
    reason: str
