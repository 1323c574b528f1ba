"""``backdesk serve web`` in headless Chromium.

What this proves, honestly: textual-serve draws the terminal on a canvas, so
the page's DOM never holds the dashboard's words. The test therefore
(1) loads the page in real headless Chromium, driven over the DevTools
protocol, waits until the page marks the first byte from the app
(``body.-first-byte``: the Backdesk process started and drew) and keeps a
screenshot (``BACKDESK_WEB_SHOT`` names where, for a person to look at);
(2) opens the same websocket the page uses and asserts that the dashboard
text arrives in the terminal stream.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import require_peer, storage_yaml
from tests.peers import Peer, PeerError, free_port
from tests.serve.sshsite import DEADLINE, plain

CONFIG = """\
site: {{name: Web GmbH}}
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
operators:
  {me}: {{name: Web Operator, roles: [admin]}}
"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def fetch(url: str) -> str:
    try:
        return urllib.request.urlopen(url, timeout=5).read().decode(errors="replace")
    except OSError:
        return ""


class WebServer(Peer):
    """``backdesk serve web`` on a free port for one test's site; whole when
    the listener is its own and its page names the site."""

    name = "backdesk serve web"

    def __init__(self, config_dir: Path, data_dir: Path) -> None:
        super().__init__()
        self.config_dir, self.data_dir = config_dir, data_dir

    def launch(self) -> None:
        self.port = free_port()
        self.spawn([sys.executable, "-m", "core", "--config-dir", str(self.config_dir),
                    "--data-dir", str(self.data_dir), "serve", "web", "--port", str(self.port)], log="web")

    def problems(self) -> list[str]:
        problems = self.process_problems() or self.listener_problems(self.port)
        if problems:
            return problems
        return [] if "Web GmbH" in fetch(f"http://127.0.0.1:{self.port}/") else ["the page does not name the site"]


class Chromium(Peer):
    """Headless Chromium with a fresh profile, opening ``url``; its DevTools
    port chosen by Chromium itself (``--remote-debugging-port=0``, read back
    from the profile's DevToolsActivePort)."""

    name = "Chromium"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def requirements(self):
        return [(chromium() is not None, "apt-get install chromium chromium-driver")]

    def launch(self) -> None:
        self.spawn([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={self.dir / 'profile'}", "--remote-debugging-port=0",
                    "--window-size=1024,640", self.url], log="chromium")

    def problems(self) -> list[str]:
        problems = self.process_problems()
        if problems:
            return problems
        active = self.dir / "profile" / "DevToolsActivePort"
        try:
            self.port = int(active.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return ["no DevToolsActivePort yet"]
        problems = self.listener_problems(self.port)
        if problems:
            return problems
        return [] if '"Browser"' in fetch(f"http://127.0.0.1:{self.port}/json/version") else ["DevTools silent"]


@pytest.fixture
def web_server(tmp_path):
    try:
        import textual_serve  # noqa: F401
        import aiohttp  # noqa: F401
    except ImportError:
        require_peer("textual-serve", False, "pip install 'backdesk[web]'")
    from core.services.access import current_account

    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "backdesk.yaml").write_text(CONFIG.format(me=current_account()) + storage_yaml(config_dir))
    (config_dir / "plugins.yaml").write_text("plugins: []\n")
    # stopped with its process group: the server and the Backdesk processes
    # it started for the tabs
    with WebServer(config_dir, tmp_path / "data") as server:
        yield server.port


async def cdp_page(port: int):
    import aiohttp

    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                async with http.get(f"http://127.0.0.1:{port}/json/list") as r:
                    pages = [t for t in await r.json() if t["type"] == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("Chromium's DevTools endpoint did not come up")


async def test_chromium_loads_the_page_and_the_dashboard_renders(web_server, tmp_path):
    import aiohttp

    browser = Chromium(f"http://127.0.0.1:{web_server}/")
    for found, why in browser.requirements():
        require_peer("chromium", found, why)
    try:
        browser.start()
    except PeerError as exc:
        pytest.fail(str(exc))
    try:
        url = await cdp_page(browser.port)
        async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:
            ids = iter(range(1, 10_000))

            async def call(method: str, **params):
                my_id = next(ids)
                await ws.send_json({"id": my_id, "method": method, "params": params})
                async for msg in ws:
                    data = json.loads(msg.data)
                    if data.get("id") == my_id:
                        return data.get("result", {})
                raise AssertionError("DevTools closed")

            async def js(expression: str):
                result = await call("Runtime.evaluate", expression=expression, returnByValue=True)
                return result.get("result", {}).get("value")

            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline:
                if await js("document.body && document.body.classList.contains('-first-byte')"):
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the page never received the app's first byte")
            assert "Web GmbH" in await js("document.querySelector('.intro-dialog').innerText")
            assert await js("!!document.querySelector('.textual-terminal .xterm-screen')")
            # the dashboard drawn: a screenshot of a drawn screen, not of the blank intro
            deadline = time.monotonic() + DEADLINE
            while True:
                shot = await call("Page.captureScreenshot", format="png")
                png = base64.b64decode(shot["data"])
                if len(png) > 10_000 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert png.startswith(b"\x89PNG") and len(png) > 10_000
            target = os.environ.get("BACKDESK_WEB_SHOT") or str(tmp_path / "web.png")
            with open(target, "wb") as fh:
                fh.write(png)
    finally:
        browser.stop()


async def test_the_websocket_carries_the_dashboard(web_server):
    import aiohttp

    seen = b""
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(f"http://127.0.0.1:{web_server}/ws?width=100&height=30") as ws:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and "Welcome, Web Operator" not in plain(seen):
            try:
                msg = await asyncio.wait_for(ws.receive(), timeout=1)
            except asyncio.TimeoutError:
                continue
            if msg.type == aiohttp.WSMsgType.BINARY:
                seen += msg.data
            elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break
    text = plain(seen)
    assert "Welcome, Web Operator" in text
    assert "Web GmbH" in text
