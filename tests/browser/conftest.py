"""Real-browser fixtures: Debian's Chromium through Playwright, JupyterLab and Voila on loopback.

Every test here is marked ``browser`` and skipped, with the reason, when /usr/bin/chromium is
missing (``apt-get install -y chromium``; Playwright cannot download its own browser here).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
BIN = Path(sys.executable).parent
EVIL = "<img src=x onerror=alert(1)>"
LOCAL = (
    "file:",
    "data:",
    "blob:",
    "about:",
    "http://127.0.0.1",
    "ws://127.0.0.1",
    "http://localhost",
    "ws://localhost",
)


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (or .ci/install-chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class Page:
    """A page that records (and aborts) every request leaving the machine, and any dialog."""

    def __init__(self, browser, *, viewport=(1280, 1000)):
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.page = self.context.new_page()
        self.external: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        url = route.request.url
        if url.startswith(LOCAL):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def close(self):
        self.context.close()


@pytest.fixture
def page(browser):
    p = Page(browser)
    yield p
    p.close()


# Reading Bokeh models by name from whatever documents the page holds.
FIND_MODEL = """
(name) => {
  const docs = (window.Bokeh && window.Bokeh.documents) || [];
  for (const doc of docs) { const m = doc.get_model_by_name(name); if (m) return true; }
  return false;
}"""
# Newest document first: a notebook's explorer comes after its static figures, which may carry
# the same model names (growth_fan_expected in the fan above the growth explorer, say).
READ_COLUMN = """
([name, col]) => {
  for (const doc of [...Bokeh.documents].reverse()) {
    const m = doc.get_model_by_name(name);
    if (m) return Array.from(m.data[col]).map(Number);
  }
  return null;
}"""
SET_VALUE = """
([name, value]) => {
  for (const doc of [...Bokeh.documents].reverse()) {
    const m = doc.get_model_by_name(name);
    if (m) { m.value = value; return true; }
  }
  return false;
}"""


def explorer_notebook(path: Path, *, data_cells=(), extra_cells=()):
    """A notebook like the tour's: parameters cell, then the funnel and growth explorers (and
    ``extra_cells`` after them)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cells = [
        nbformat.v4.new_markdown_cell("# Explorers"),
        nbformat.v4.new_code_cell(
            "data_dir = None  # folder of a CRM export; None = the bundled sample\nas_of = None",
            metadata={"tags": ["parameters"]},
        ),
        nbformat.v4.new_code_cell(
            "import toolkit\n"
            "from bokeh.io import output_notebook, show\n"
            "from bokeh.resources import INLINE\n"
            "output_notebook(resources=INLINE, hide_banner=True)\n"
            "data = toolkit.read_crm(data_dir, as_of=as_of) if data_dir else toolkit.load_sample()"
        ),
        *[nbformat.v4.new_code_cell(c) for c in data_cells],
        nbformat.v4.new_code_cell(
            "from toolkit.explorers import funnel_explorer, growth_explorer\n"
            "table = toolkit.funnel_table(data.events, as_of=data.as_of)\n"
            "funnel_explorer(table)"
        ),
        nbformat.v4.new_code_cell("growth_explorer()"),
        *[nbformat.v4.new_code_cell(c) for c in extra_cells],
    ]
    nb.cells = cells
    nbformat.write(nb, path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode}: {proc.stdout.read()[-2000:]}"
            )
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"port {port} did not open in {timeout} s")


def shutdown_kernels(server) -> None:
    """Stop every kernel the server runs, so notebooks opened earlier stop using the 2 cores."""
    headers = {"Authorization": f"token {server.token}"}
    base = f"{server.url}/api/kernels"
    with urllib.request.urlopen(urllib.request.Request(base, headers=headers), timeout=10) as r:
        kernels = json.load(r)
    for kernel in kernels:
        request = urllib.request.Request(f"{base}/{kernel['id']}", method="DELETE", headers=headers)
        urllib.request.urlopen(request, timeout=30).close()


def wait_http(url: str, proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode}: {proc.stdout.read()[-2000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


class Server:
    def __init__(self, cmd, url, ready, cwd, env=None):
        self.url = url
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        if isinstance(ready, int):
            wait_port(ready, self.proc)
        else:
            wait_http(ready, self.proc)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc.stdout.close()


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory):
    """A copy of the tour notebooks plus an explorer notebook (JupyterLab saves into it)."""
    root = tmp_path_factory.mktemp("lab")
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy(nb, root / nb.name)
    explorer_notebook(root / "90_explorers.ipynb")
    return root


def start_lab(root: Path) -> Server:
    """JupyterLab on loopback serving ``root`` with a token, explorers in their live renderer."""
    port, token = free_port(), secrets.token_hex(16)
    server = Server(
        [
            str(BIN / "jupyter"),
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None",
            "--allow-root",  # CI containers run as root
        ],
        url=f"http://127.0.0.1:{port}",
        ready=f"http://127.0.0.1:{port}/api/status?token={token}",
        cwd=root,
        env={"TOOLKIT_RENDERER": "live"},
    )
    server.token = token
    return server


@pytest.fixture(scope="session")
def jupyterlab(lab_root):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing")
    server = start_lab(lab_root)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def voila(lab_root):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing")
    # the training notebook once it shows the growth explorer; the explorer notebook until then
    training = lab_root / "04_network_growth.ipynb"
    wired = training.exists() and "growth_explorer(" in training.read_text()
    target = training if wired else lab_root / "90_explorers.ipynb"
    port = free_port()
    server = Server(
        [
            str(BIN / "voila"),
            str(target),
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            "--strip_sources=True",
        ],
        url=f"http://127.0.0.1:{port}",
        ready=port,
        cwd=lab_root,
        env={"TOOLKIT_RENDERER": "live"},
    )
    server.notebook = target
    yield server
    server.stop()
