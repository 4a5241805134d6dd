"""Drive Debian's chromium headless on a local file: the DOM after the page's script ran, what the page logged
to its console (any console line counts: the report logs nothing when all is well), and a screenshot."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]?\s*(.*)")


@dataclass(frozen=True)
class Page:
    dom: str
    status: dict[str, str]  # the data-* attributes of the report's #pindah-status element
    console: list[str]
    seconds: float  # chromium's wall time to load, run the script and dump the DOM


class _Status(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id") == "pindah-status":
            self.found = {k.removeprefix("data-"): v or "" for k, v in attrs if k.startswith("data-")}


def _run(args: list[str], timeout: float) -> tuple[str, str, float]:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}", "--virtual-time-budget=15000",
               *args]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout, done.stderr, elapsed


def load(path: Path, *, fragment: str = "", width: int = 1400, height: int = 1000, timeout: float = 180) -> Page:
    url = path.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    dom, log, elapsed = _run([f"--window-size={width},{height}", "--dump-dom", url], timeout)
    parser = _Status()
    parser.feed(dom)
    console = [m.group(1) for line in log.splitlines() if (m := CONSOLE.search(line))]
    return Page(dom=dom, status=parser.found, console=console, seconds=elapsed)


def screenshot(path: Path, png: Path, *, fragment: str = "", width: int = 1400, height: int = 2200,
               timeout: float = 180) -> list[str]:
    """Write a PNG of the page; returns the console lines seen meanwhile."""
    url = path.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    _, log, _ = _run([f"--window-size={width},{height}", f"--screenshot={png}", url], timeout)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot to {png}")
    return [m.group(1) for line in log.splitlines() if (m := CONSOLE.search(line))]
