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
        cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
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


class Browser:
    """Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: fd 3 in, fd 4 out):
    real mouse, wheel and keyboard input into one page, console messages and exceptions collected."""

    def __init__(self, width: int = 1400, height: int = 1000) -> None:
        import os

        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def fds() -> None:  # in the child: the protocol's fds 3 and 4
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}", f"--window-size={width},{height}",
             "about:blank"],
            close_fds=False, preexec_fn=fds, stdout=subprocess.DEVNULL,  # noqa: PLW1509
            stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next = 0
        self.console: list[str] = []
        self.session = ""
        self.size = (width, height)

    def close(self) -> None:
        import os

        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> dict[str, object]:
        import json
        import os

        while b"\0" not in self._buffer:
            chunk = os.read(self._from_child, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the protocol pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, object] = json.loads(raw)
        return message

    def _event(self, message: dict[str, object]) -> None:
        params = message.get("params")
        if not isinstance(params, dict):
            return
        if message.get("method") == "Runtime.consoleAPICalled":
            args = params.get("args") or []
            self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif message.get("method") == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails") or {}
            self.console.append(f"exception: {details.get('text')} {details.get('exception', {}).get('description')}")

    def send(self, method: str, params: dict[str, object] | None = None, *, session: bool = True) -> dict[str, object]:
        import json
        import os

        self._next += 1
        message: dict[str, object] = {"id": self._next, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result = reply.get("result")
                return result if isinstance(result, dict) else {}
            self._event(reply)

    def open(self, path: Path, fragment: str = "") -> None:
        url = path.resolve().as_uri() + (f"#{fragment}" if fragment else "")
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                             session=False)
        self.session = str(attached["sessionId"])
        self.send("Runtime.enable")
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride", {"width": self.size[0], "height": self.size[1],
                                                         "deviceScaleFactor": 1, "mobile": False})
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression: str) -> object:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        value = result.get("result")
        return value.get("value") if isinstance(value, dict) else None

    def status(self) -> dict[str, str]:
        found = self.evaluate("(function(){var s=document.getElementById('pindah-status');"
                              "return s ? Object.assign({}, s.dataset) : {};})()")
        return {re.sub(r"[A-Z]", lambda m: "-" + m.group(0).lower(), k): str(v)
                for k, v in (found.items() if isinstance(found, dict) else [])}

    def wait(self, key: str, predicate: object, timeout: float = 60) -> dict[str, str]:
        """Poll the page's status until ``predicate(status[key])`` holds; returns the status."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = self.status()
            except RuntimeError:  # the page is still navigating: its context was replaced
                status = {}
            if key in status and callable(predicate) and predicate(status[key]):
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"page status {key} never matched: {status}")
            time.sleep(0.1)

    def until(self, expression: str, timeout: float = 60) -> object:
        """Poll a JavaScript expression until it is truthy (events such as <details> toggles are async)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression} stayed {value!r}")
            time.sleep(0.1)

    def click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def wheel(self, x: float, y: float, delta: float) -> None:
        self.send("Input.dispatchMouseEvent", {"type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": delta})

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        self.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": start[0], "y": start[1],
                                               "button": "left", "clickCount": 1})
        for step in range(1, 6):
            x = start[0] + (end[0] - start[0]) * step / 5
            y = start[1] + (end[1] - start[1]) * step / 5
            self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y, "button": "left"})
        self.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": end[0], "y": end[1],
                                               "button": "left", "clickCount": 1})

    def type_into(self, selector: str, text: str) -> None:
        self.evaluate(f"document.querySelector({selector!r}).focus()")
        self.send("Input.insertText", {"text": text})

    def screenshot(self, png: Path) -> None:
        import base64

        shot = self.send("Page.captureScreenshot", {"format": "png"})
        png.write_bytes(base64.b64decode(str(shot["data"])))
