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
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import require_peer, storage_yaml
from tests.serve.sshsite import plain

CONFIG = """\
site: {{name: Web GmbH}}
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
operators:
  {me}: {{name: Web Operator, roles: [admin]}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def web_server(tmp_path):
    try:
        import textual_serve  # noqa: F401
        import aiohttp  # noqa: F401
    except ImportError:
        require_peer("textual-serve", False, "pip install 'backdesk[web]'")
    from core.access import current_account

    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "backdesk.yaml").write_text(CONFIG.format(me=current_account()) + storage_yaml(config_dir))
    (config_dir / "plugins.yaml").write_text("plugins: []\n")
    port = free_port()
    log = open(tmp_path / "web.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "core", "--config-dir", str(config_dir),
                             "--data-dir", str(tmp_path / "data"), "serve", "web", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError((tmp_path / "web.log").read_text())
    yield port
    # the server and the Backdesk processes it started for the tabs
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


async def cdp_page(port: int):
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for _ in range(100):
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

    browser = chromium()
    require_peer("chromium", browser is not None, "apt-get install chromium chromium-driver")
    devtools = free_port()
    profile = tmp_path / "chromium-profile"
    chrome = subprocess.Popen(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--remote-debugging-port={devtools}", "--window-size=1024,640",
         f"http://127.0.0.1:{web_server}/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = await cdp_page(devtools)
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

            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if await js("document.body && document.body.classList.contains('-first-byte')"):
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the page never received the app's first byte")
            assert "Web GmbH" in await js("document.querySelector('.intro-dialog').innerText")
            assert await js("!!document.querySelector('.textual-terminal .xterm-screen')")
            await asyncio.sleep(1.5)  # let it draw the dashboard
            shot = await call("Page.captureScreenshot", format="png")
            png = base64.b64decode(shot["data"])
            assert png.startswith(b"\x89PNG") and len(png) > 10_000  # a drawn screen, not the blank intro
            target = os.environ.get("BACKDESK_WEB_SHOT") or str(tmp_path / "web.png")
            with open(target, "wb") as fh:
                fh.write(png)
    finally:
        chrome.terminate()
        try:
            chrome.wait(10)
        except subprocess.TimeoutExpired:
            chrome.kill()
            chrome.wait()


async def test_the_websocket_carries_the_dashboard(web_server):
    import aiohttp

    seen = b""
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(f"http://127.0.0.1:{web_server}/ws?width=100&height=30") as ws:
        deadline = time.monotonic() + 30
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
