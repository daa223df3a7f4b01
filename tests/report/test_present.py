"""``python -m toolkit present`` cannot be abused: token, Host check, kernel cap, idle culling.

One real server (Voila through the presenter template) serves a folder with a one-cell notebook,
so each kernel is cheap; the protection does not depend on what a notebook shows. Kernels are
counted as the server's ipykernel child processes (Voila has no kernel-listing API).
"""

from __future__ import annotations

import concurrent.futures
import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import nbformat
import psutil
import pytest

from tests.support import ROOT

MAX_KERNELS = 2
IDLE_TIMEOUT = 6  # seconds; culled within IDLE_TIMEOUT + CULL_INTERVAL after its last activity
CULL_INTERVAL = 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Presenter:
    def __init__(self, folder: Path):
        self.port = _free_port()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "toolkit",
                "present",
                f"--port={self.port}",
                f"--folder={folder}",
                "--notebook=screen",
                f"--max-kernels={MAX_KERNELS}",
                f"--idle-timeout={IDLE_TIMEOUT}",
                f"--cull-interval={CULL_INTERVAL}",
            ],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        first = self.proc.stdout.readline()
        match = re.search(
            r"http://127\.0\.0\.1:(\d+)/voila/render/screen\.ipynb\?token=(\S+)", first
        )
        assert match, f"no URL with a token printed first: {first!r}"
        self.token = match.group(2)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the presenter server exited"
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.2)
        raise TimeoutError("the presenter server did not open its port")

    def get(self, path: str, *, host: str | None = None, token: bool = True, timeout=120):
        """A raw GET (http.client sends exactly the Host header given)."""
        if token:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode({"token": self.token})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest("GET", path, skip_host=True)
            conn.putheader("Host", host or f"127.0.0.1:{self.port}")
            conn.endheaders()
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            conn.close()

    def kernels(self) -> list[str]:
        """Ids of the kernels running now (from their connection files' names)."""
        ids = []
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                cmdline = " ".join(child.cmdline())
            except psutil.NoSuchProcess:
                continue
            found = re.search(r"kernel-([0-9a-f-]{36})\.json", cmdline)
            if "ipykernel" in cmdline and found:
                ids.append(found.group(1))
        return ids

    def wait_kernels(self, n: int, timeout: float) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if len(self.kernels()) == n:
                return time.monotonic() - t0
            time.sleep(0.25)
        raise AssertionError(f"{len(self.kernels())} kernels after {timeout} s, expected {n}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def presenter(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screens")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell("print('screen ready')")]
    nbformat.write(nb, folder / "screen.ipynb")
    server = Presenter(folder)
    yield server
    server.stop()


def test_a_broken_export_or_an_unknown_screen_is_refused_before_serving(tmp_path, capsys):
    from toolkit.present import main

    assert main(["--notebook", "nope", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "no screen 'nope'" in err and "growth" in err and "cohorts" in err
    assert main(["--data", str(tmp_path), "--port", "1"]) == 2  # an empty folder
    assert str(tmp_path) in capsys.readouterr().err  # the DataError names the folder


@pytest.mark.slow
def test_no_token_is_sent_to_login_and_starts_no_kernel(presenter):
    presenter.wait_kernels(0, timeout=IDLE_TIMEOUT + 20)
    for path in ("/", "/voila/render/screen.ipynb"):
        status, headers, _ = presenter.get(path, token=False)
        assert status == 302 and headers["Location"].startswith("/login"), (path, status)
    wrong = f"/voila/render/screen.ipynb?token={secrets.token_urlsafe(24)}"
    status, headers, _ = presenter.get(wrong, token=False)
    assert status == 302 and headers["Location"].startswith("/login")
    time.sleep(1)
    assert presenter.kernels() == []


@pytest.mark.slow
def test_a_foreign_host_header_is_refused(presenter):
    for host in (
        "evil.example",
        f"evil.example:{presenter.port}",
        f"127.0.0.1.evil.example:{presenter.port}",
    ):
        for path in ("/", "/voila/render/screen.ipynb"):
            status, _, body = presenter.get(path, host=host)
            assert status == 403, (host, path, status)
            assert "https://" not in body  # the error page fetches nothing either
    assert presenter.kernels() == []
    status, _, body = presenter.get("/", host=f"localhost:{presenter.port}")
    assert status == 200 and "screen.ipynb" in body  # the menu, for a loopback name


@pytest.mark.slow
def test_visitors_beyond_the_cap_get_a_full_page_not_a_kernel(presenter):
    presenter.wait_kernels(0, timeout=IDLE_TIMEOUT + 20)
    visitors = MAX_KERNELS + 2
    with concurrent.futures.ThreadPoolExecutor(visitors) as pool:  # arriving together
        answers = list(
            pool.map(lambda _: presenter.get("/voila/render/screen.ipynb"), range(visitors))
        )
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200] * MAX_KERNELS + [503] * (visitors - MAX_KERNELS)
    assert len(presenter.kernels()) == MAX_KERNELS
    for status, headers, body in answers:
        if status == 200:
            assert "screen ready" in body
            continue
        assert headers["Content-Type"].startswith("text/html")
        assert "The explorer is full" in body and f"{MAX_KERNELS} visitors" in body
        assert "Traceback" not in body and "https://" not in body
    # a kernel's own API answers only with the token and a loopback Host
    kernel = presenter.kernels()[0]
    assert presenter.get(f"/api/kernels/{kernel}")[0] == 200
    assert presenter.get(f"/api/kernels/{kernel}", token=False)[0] == 403
    assert presenter.get(f"/api/kernels/{kernel}", host="evil.example")[0] == 403
    # once idle kernels are culled, a new visitor is let in again
    waited = presenter.wait_kernels(0, timeout=IDLE_TIMEOUT + CULL_INTERVAL + 30)
    assert waited > 0
    status, _, body = presenter.get("/voila/render/screen.ipynb")
    assert status == 200 and "screen ready" in body
    assert len(presenter.kernels()) == 1
