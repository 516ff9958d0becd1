"""A small Chrome DevTools Protocol driver over a pipe (`--remote-debugging-pipe`: commands on fd 3, answers on
fd 4, JSON messages ended by NUL), for Debian's chromium: open a page, wait for its load event, read its text and
evaluate expressions, take a screenshot, and keep what the page said on the way (console calls, uncaught
exceptions, log entries such as failed loads) and every network request it made. No browser download, no
websocket library, no driver package.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
# As root, headless, and quiet on a closed network (without the background-networking flags its connections
# are refused and logged).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio")


class CdpError(RuntimeError):
    pass


@dataclass
class Page:
    """What one page load produced."""

    url: str
    console: list[tuple[str, str]] = field(default_factory=list)
    """(type, text) of every console call: log, warning, error, ..."""
    exceptions: list[str] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)
    """(level, text) of browser log entries (failed resource loads, violations)."""
    requests: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Everything that counts as an error in the console: error calls, uncaught exceptions, error entries."""
        return ([f"console.{kind}: {text}" for kind, text in self.console if kind in ("error", "assert")]
                + [f"exception: {e}" for e in self.exceptions]
                + [f"log {level}: {text}" for level, text in self.log if level == "error"])


class Browser:
    def __init__(self, user_data_dir: Path, binary: Path = CHROMIUM, timeout: float = 60.0):
        self.timeout = timeout
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # out of the way of 3 and 4, so the child's dup2 cannot overwrite one with the other
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser_r, from_browser_w)]
        for fd in (to_browser_r, from_browser_w):
            os.close(fd)

        def child_fds() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.stderr_path = user_data_dir / "chromium.stderr"
        with self.stderr_path.open("wb") as stderr:
            self.proc = subprocess.Popen([str(binary), *FLAGS, f"--user-data-dir={user_data_dir}",
                                          "--remote-debugging-pipe", "about:blank"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                         close_fds=False, preexec_fn=child_fds)
        for fd in high:
            os.close(fd)
        self.out, self.inp = to_browser_w, from_browser_r
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    # ------------------------------------------------------------------------------------------ protocol
    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.inp], [], [], max(left, 0))
            if not ready:
                raise CdpError(f"no answer from chromium in {self.timeout:.0f} s")
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                raise CdpError(f"chromium closed the pipe (exit {self.proc.poll()}); stderr in {self.stderr_path}")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def wait_for(self, method: str, session: str) -> dict[str, Any]:
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self.events.remove(event)
                    return event
            self.events.append(self._read())

    # ------------------------------------------------------------------------------------------ pages
    def open(self, url: str, width: int = 1280, height: int = 900) -> "Tab":
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
        self.events.clear()
        navigated = self.send("Page.navigate", {"url": url}, session)
        if navigated.get("errorText"):
            raise CdpError(f"cannot open {url}: {navigated['errorText']}")
        self.wait_for("Page.loadEventFired", session)
        tab = Tab(self, session, Page(url))
        tab.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")  # laid out, painted
        tab.collect()
        return tab

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (CdpError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.out, self.inp):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class Tab:
    browser: Browser
    session: str
    page: Page

    def evaluate(self, expression: str) -> Any:
        result = self.browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                        "awaitPromise": True}, self.session)
        if "exceptionDetails" in result:
            raise CdpError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def collect(self) -> Page:
        """Move the events seen so far into the page record."""
        keep = []
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                keep.append(event)
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                self.page.console.append((params.get("type", ""), text))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                self.page.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                self.page.log.append((entry.get("level", ""), f"{entry.get('text', '')} {entry.get('url', '')}".strip()))
            elif method == "Network.requestWillBeSent":
                self.page.requests.append(params.get("request", {}).get("url", ""))
        self.browser.events[:] = keep
        return self.page

    def screenshot(self, full_page: bool = False) -> bytes:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.browser.send("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        return base64.b64decode(self.browser.send("Page.captureScreenshot", params, self.session)["data"])


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])
