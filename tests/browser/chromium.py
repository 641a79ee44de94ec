"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe).

Why a pipe: the protocol's usual transport is a websocket, which needs a client library
(none is installed) and a TCP port. With --remote-debugging-pipe Chromium reads commands from
file descriptor 3 and writes answers to descriptor 4, each a JSON message ended by a NUL byte:
nothing listens on the network and the standard library is enough. The email itself stays free
of script: the measuring happens in the driver (Runtime.evaluate), not in the page.

The browser may reach nothing: --host-resolver-rules maps every host name to nowhere, and the
pages are local files.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--force-color-profile=srgb",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-pipe",
)

# Measured in the page by the driver: layout width, anything sticking out of the viewport, and
# where the headline total is, how it looks and whether it is the topmost element where it sits.
MEASURE = """
(() => {
  const doc = document.documentElement;
  const outside = [];
  for (const element of document.body.querySelectorAll('*')) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && (box.right > innerWidth + 0.5 || box.left < -0.5)) {
      const where = `${Math.round(box.left)}..${Math.round(box.right)}`;
      const what = (element.textContent || '').trim().slice(0, 60);
      outside.push(`${element.tagName.toLowerCase()}.${element.className} at ${where}: ${what}`);
    }
  }
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const color = getComputedStyle(node).backgroundColor;
      if (color && color !== 'rgba(0, 0, 0, 0)' && color !== 'transparent') return color;
    }
    return getComputedStyle(document.body).backgroundColor;
  };
  const total = document.getElementById('headline-total');
  let headline = null;
  if (total) {
    const box = total.getBoundingClientRect();
    const style = getComputedStyle(total);
    const hit = document.elementFromPoint(box.left + Math.min(box.width, 40) / 2, box.top + box.height / 2);
    headline = {
      text: total.textContent.trim(), left: box.left, right: box.right, top: box.top, bottom: box.bottom,
      width: box.width, height: box.height, display: style.display, visibility: style.visibility,
      opacity: parseFloat(style.opacity), fontSize: parseFloat(style.fontSize), color: style.color,
      background: background(total), topmost: !!hit && (hit === total || total.contains(hit)),
    };
  }
  return {
    scrollWidth: Math.max(doc.scrollWidth, document.body.scrollWidth), innerWidth: innerWidth,
    height: Math.ceil(Math.max(doc.scrollHeight, document.body.scrollHeight)), outside: outside.slice(0, 10),
    headline: headline, scripts: document.scripts.length,
  };
})()
"""


class ChromiumError(RuntimeError):
    pass


@dataclass(frozen=True)
class Rendering:
    width: int
    dark: bool
    scroll_width: int
    height: int
    outside: list[str]
    headline: dict[str, Any] | None
    scripts: int
    png: bytes  # empty unless asked for


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """One browser process; `render` loads a local HTML file in a fresh tab and measures it."""

    def __init__(self, binary: str, timeout: float = 20.0) -> None:
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def descriptors() -> None:  # in the child, before exec: the protocol's fds 3 and 4
            read_end, write_end = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self._process = subprocess.Popen(  # noqa: S603 - a fixed binary with fixed flags
            [binary, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=descriptors,  # runs before exec; this process starts no thread first
            close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self._process.poll() is None:
                self._send("Browser.close")
                self._process.wait(timeout=5)
        except (ChromiumError, OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait(timeout=5)
        finally:
            for fd in (self._to_browser, self._from_browser):
                with contextlib.suppress(OSError):
                    os.close(fd)
            shutil.rmtree(self._profile, ignore_errors=True)

    # -- protocol ---------------------------------------------------------------------------

    def _send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise ChromiumError("Chromium exited") from None
        return self._next_id

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChromiumError("no answer from Chromium in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise ChromiumError("Chromium closed the pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        wanted = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise ChromiumError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _wait_event(self, method: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read(deadline)
            if message.get("method") == method and message.get("sessionId") == session:
                return

    # -- pages ------------------------------------------------------------------------------

    def render(self, page: Path, *, width: int = 600, dark: bool = False, screenshot: bool = False) -> Rendering:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            self.call("Page.enable", session=session)
            self._viewport(session, width, 900)
            scheme = "dark" if dark else "light"
            self.call(
                "Emulation.setEmulatedMedia",
                {"media": "screen", "features": [{"name": "prefers-color-scheme", "value": scheme}]},
                session,
            )
            self.call("Page.navigate", {"url": page.resolve().as_uri()}, session)
            self._wait_event("Page.loadEventFired", session)
            measured = self._evaluate(MEASURE, session)
            png = b""
            if screenshot:
                # Grow the viewport to the whole page, then photograph it (the measurements stay
                # those of the first screen, as a reader opens the email).
                self._viewport(session, width, measured["height"])
                png = base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"}, session)["data"])
        finally:
            self.call("Target.closeTarget", {"targetId": target})
        return Rendering(
            width=width,
            dark=dark,
            scroll_width=int(measured["scrollWidth"]),
            height=int(measured["height"]),
            outside=list(measured["outside"]),
            headline=measured["headline"],
            scripts=int(measured["scripts"]),
            png=png,
        )

    def _viewport(self, session: str, width: int, height: int) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": max(int(height), 1), "deviceScaleFactor": 1, "mobile": False},
            session,
        )

    def _evaluate(self, expression: str, session: str) -> Any:
        answer = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        if "exceptionDetails" in answer:
            raise ChromiumError(f"measuring script failed: {answer['exceptionDetails'].get('text')}")
        return answer["result"]["value"]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast of two CSS rgb()/rgba() colours (alpha ignored: backgrounds are opaque here)."""

    def luminance(color: str) -> float:
        values = color[color.index("(") + 1 : color.index(")")].replace("/", ",").split(",")
        channels = []
        for value in values[:3]:
            c = float(value) / 255
            channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
        r, g, b = channels
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
