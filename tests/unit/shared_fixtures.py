"""Where the real captured data lives: ../shared/fixtures beside the clone (or $PINDAH_FIXTURES).

Tests that read it skip cleanly when it is absent; nothing of it is ever copied into the project.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_FIXTURES = Path(os.environ.get("PINDAH_FIXTURES")
                       or Path(__file__).resolve().parents[2].parent / "shared" / "fixtures")
JC = SHARED_FIXTURES / "jc"


def jc_fixture(relative: str) -> Path:
    """One of jc's captured command outputs; skips the test when the fixtures are not there."""
    path = JC / relative
    if not path.exists():
        pytest.skip("jc fixtures absent")
    return path
