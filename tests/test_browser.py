"""Notebook 04 in a real browser: JupyterLab on 127.0.0.1, driven by Playwright with the system Chromium.

What a learner sees: the explorer renders as live controls (not the text ``interactive(children=...``), each frame is
drawn once, and choosing another digit changes the image. The notebook runs at the smoke tier. Skipped, with the
reason, where Chromium (Debian's ``chromium`` package), Playwright or JupyterLab is missing; nothing is downloaded.
A screenshot of the explorer is left in ``build/browser/`` to be looked at.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next((p for p in (os.environ.get("GAN_TUTOR_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p and Path(p).exists()), None)
TOKEN = "gan-tutor-browser-test"


def _requirements() -> str | None:
    if CHROMIUM is None:
        return "no Chromium: install Debian's chromium package (apt-get install chromium), or set GAN_TUTOR_CHROMIUM"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright; the system Chromium is used, nothing is downloaded)"
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        return "JupyterLab is not installed (pip install jupyterlab)"
    return None


pytestmark = pytest.mark.skipif(_requirements() is not None, reason=str(_requirements()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a copy of notebook 04; yields its base URL."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "notebooks" / "04_conditional_gan.ipynb", root)
    port = _free_port()
    env = {**os.environ, "GAN_TUTOR_TIER": "smoke", "GAN_TUTOR_RUNS": str(root / "runs"), "JUPYTER_CONFIG_DIR": str(root / ".jupyter")}
    for key in ("GAN_TUTOR_HEADLESS", "GAN_TUTOR_WIDGETS"):  # the explorer must find the front end by itself
        env.pop(key, None)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.getuid() == 0:
        cmd.append("--allow-root")
    log = open(root / "server.log", "w")
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"JupyterLab exited: {(root / 'server.log').read_text()[-2000:]}")
                time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not answer within a minute: {(root / 'server.log').read_text()[-2000:]}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_notebook_04_explorer_is_live_draws_once_and_follows_its_controls(lab):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    shots = ROOT / "build" / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{lab}/lab/tree/04_conditional_gan.ipynb?token={TOKEN}")
        # the kernel ready, the notebook focused, then Run > Run All Cells, again if no cell starts (a menu clicked
        # while the page still settles can be ignored)
        page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(timeout=180_000)
        started = page.locator(".jp-InputPrompt").filter(has_text=re.compile(r"\[(\*|\d+)\]"))
        for _ in range(5):
            page.locator(".jp-Notebook .jp-Cell").first.click()
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            try:
                started.first.wait_for(timeout=20_000)
                break
            except PlaywrightTimeout:
                page.keyboard.press("Escape")
        else:
            pytest.fail("Run > Run All Cells did not start the notebook")
        explorer = page.locator(".widget-interact").first
        explorer.wait_for(timeout=600_000)  # the notebook trains at the smoke tier before it gets there
        frames = explorer.locator(".jp-OutputArea-output img")
        expect(frames).to_have_count(1, timeout=60_000)  # the first frame, drawn once
        first = frames.first.get_attribute("src")
        explorer.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "04_explorer_first_frame.png"))
        explorer.locator(".widget-toggle-buttons button", has_text="7").first.click()
        expect(frames.first).not_to_have_attribute("src", first, timeout=60_000)  # the image follows the control
        expect(frames).to_have_count(1)  # still one frame: the previous one replaced, nothing drawn twice
        page.screenshot(path=str(shots / "04_explorer_digit_7.png"))
        body = page.locator("body").inner_text()
        assert "Error displaying widget" not in body and "interactive(children=" not in body
        browser.close()
