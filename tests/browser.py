"""Drive headless Chromium over the DevTools protocol: load a page, collect console errors,
measure an element's position and save a screenshot. Used by the report's browser test."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from websockets.sync.client import connect

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps",
]


def chromium_path() -> str | None:
    """Return the Chromium executable, or ``None`` when it is not installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageCheck:
    errors: list[str]
    element_top: float | None
    element_height: float | None
    viewport_height: float
    text: str


def check_page(html_path: Path, selector: str, screenshot: Path,
               width: int = 1280, height: int = 800) -> PageCheck:
    """Open ``html_path`` in headless Chromium and report what a reader would see."""
    exe = chromium_path()
    assert exe is not None
    profile = tempfile.mkdtemp(prefix="ck-chromium-")
    proc = subprocess.Popen(
        [exe, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
         f"--window-size={width},{height}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        port = _devtools_port(Path(profile))
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=10))
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        with connect(ws_url, max_size=64 * 1024 * 1024) as ws:
            cdp = _Cdp(ws)
            cdp.call("Runtime.enable")
            cdp.call("Log.enable")
            cdp.call("Page.enable")
            cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                     deviceScaleFactor=1, mobile=False)
            cdp.call("Page.navigate", url=html_path.resolve().as_uri())
            cdp.wait_for("Page.loadEventFired", timeout=30)
            time.sleep(0.3)
            js = (
                f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                " const r = e ? e.getBoundingClientRect() : null;"
                " return JSON.stringify({top: r ? r.top : null, height: r ? r.height : null,"
                " vh: window.innerHeight, text: e ? e.innerText : ''}); })()"
            )
            res = cdp.call("Runtime.evaluate", expression=js, returnByValue=True)
            info = json.loads(res["result"]["value"])
            shot = cdp.call("Page.captureScreenshot", format="png")
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            return PageCheck(cdp.errors, info["top"], info["height"], info["vh"], info["text"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_port(profile: Path, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    marker = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if marker.exists():
            lines = marker.read_text().splitlines()
            if lines and lines[0].strip().isdigit():
                return int(lines[0])
        time.sleep(0.1)
    raise TimeoutError("Chromium did not open its DevTools port")


class _Cdp:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.next_id = 0
        self.errors: list[str] = []
        self.events: list[str] = []

    def _record(self, msg: dict) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        self.events.append(method)
        if method == "Runtime.exceptionThrown":
            self.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", "")) for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(params["entry"].get("text", "log error"))

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=30))
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._record(msg)

    def wait_for(self, method: str, timeout: float) -> None:
        if method in self.events:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv(timeout=timeout))
            self._record(msg)
            if msg.get("method") == method:
                return
        raise TimeoutError(method)
