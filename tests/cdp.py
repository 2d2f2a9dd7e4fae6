"""A small Chrome DevTools Protocol driver for headless Debian ``chromium`` (no Selenium).

Starts ``/usr/bin/chromium --headless`` with its own profile under a tmp dir, connects to the
page target over the DevTools websocket (the ``websockets`` package), and offers what browser
tests need: navigate, real mouse clicks (``Input.dispatchMouseEvent`` at the element's centre),
typing (``Input.insertText``), JavaScript evaluation, waiting, and PNG screenshots.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Self

from websockets.sync.client import connect

CHROMIUM = os.environ.get("AIOS_CHROMIUM", "/usr/bin/chromium")


class BrowserError(RuntimeError):
    pass


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


class Browser:
    def __init__(self, workdir: Path, *, width: int = 1280, height: int = 1000) -> None:
        self.workdir = Path(workdir)
        self.width, self.height = width, height
        self.proc: subprocess.Popen[bytes] | None = None
        self.ws: Any = None
        self._id = 0
        self.shots: list[Path] = []

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            return self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _start(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # a fresh profile each time: chromium refuses a profile another instance holds
        profile = Path(tempfile.mkdtemp(prefix="chromium-profile-", dir=self.workdir))
        log = open(self.workdir / "chromium.log", "wb")  # noqa: SIM115 - closed with the proc
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", f"--window-size={self.width},{self.height}",
             "about:blank"],
            stdout=log, stderr=log, start_new_session=True)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BrowserError("chromium did not start; see "
                                   f"{self.workdir / 'chromium.log'}")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.loads(urllib.request.urlopen(
            f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=20)
        self.send("Page.enable")
        self.send("Runtime.enable")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001 - the browser may be gone already
                pass
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    # --- protocol ------------------------------------------------------------------------

    def send(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        self._id += 1
        my_id = self._id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"{method}: no answer in {timeout}s")
            msg = json.loads(self.ws.recv(timeout=left))
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expression: str, *, await_promise: bool = False) -> Any:
        res = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                        awaitPromise=await_promise)
        if "exceptionDetails" in res:
            raise BrowserError(f"JS error in {expression!r}: {res['exceptionDetails']}")
        return res.get("result", {}).get("value")

    # --- what tests use ------------------------------------------------------------------

    def wait_for(self, expression: str, timeout: float = 30, what: str | None = None) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.eval(expression)
            except BrowserError:
                value = None  # the page is between two documents
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {what or expression}")
            time.sleep(0.1)

    def goto(self, url: str, timeout: float = 60) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for(f"document.readyState === 'complete' && location.href.startsWith("
                      f"{json.dumps(url.split('?')[0])})", timeout, what=f"load of {url}")

    def click(self, selector: str) -> None:
        """A real mouse click at the centre of the element (scrolled into view first)."""
        box = self.wait_for(
            f"""(() => {{ const el = document.querySelector({json.dumps(selector)});
                 if (!el) return null; el.scrollIntoView({{block: 'center'}});
                 const r = el.getBoundingClientRect();
                 return r.width > 0 ? {{x: r.x + r.width / 2, y: r.y + r.height / 2}} : null;
               }})()""", what=f"a visible {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"],
                      button="left", clickCount=1)

    def fill(self, selector: str, text: str) -> None:
        """Replace the value of an input or textarea by typing ``text`` into it."""
        self.click(selector)
        self.eval(f"document.querySelector({json.dumps(selector)}).select()")
        self.send("Input.insertText", text=text)

    def text(self, selector: str = "body") -> str:
        return self.eval(f"(document.querySelector({json.dumps(selector)}) || "
                         "{innerText: ''}).innerText") or ""

    def screenshot(self, path: Path) -> Path:
        # right after a form post the new document may not be laid out yet; Chrome then
        # refuses the capture ("Cannot take screenshot with 0 width"), seen on a loaded machine
        self.wait_for("document.readyState === 'complete' && "
                      "document.documentElement.getBoundingClientRect().width > 0",
                      what="a laid-out page to capture")
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
        self.shots.append(path)
        return path
