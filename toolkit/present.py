"""``python -m toolkit present``: the network-growth explorer in Voila, protected like ``make lab``.

All of the presenter server's settings live here: a generated token (the URL printed carries it),
the Host header checked (only loopback names), bound to 127.0.0.1, at most ``MAX_KERNELS`` kernels,
and idle kernels culled. A visitor beyond the limit gets a short "full" page, not a new kernel.
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Sequence

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.web import HTTPError
from traitlets import Integer

NOTEBOOK = "notebooks/04_network_growth.ipynb"
MAX_KERNELS = 4
IDLE_TIMEOUT = 600  # seconds without activity before a kernel is shut down
CULL_INTERVAL = 60


class CappedKernelManager(AsyncMappingKernelManager):
    """A kernel manager that refuses to start more than ``max_kernels`` kernels at once."""

    max_kernels = Integer(MAX_KERNELS, config=True, help="Most kernels alive at once.")

    async def start_kernel(self, *args, **kwargs):
        if kwargs.get("kernel_id") is None and len(self.list_kernel_ids()) >= self.max_kernels:
            raise HTTPError(
                503,
                f"The explorer is full: {self.max_kernels} visitors already have it open. "
                "Please try again in a few minutes.",
            )
        return await super().start_kernel(*args, **kwargs)


def voila_argv(
    port: int,
    token: str,
    max_kernels: int,
    idle_timeout: int,
    cull_interval: int,
    notebook: str = NOTEBOOK,
) -> list[str]:
    """The Voila command line for the protected presenter server."""
    return [
        notebook,
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        f"--Voila.token={token}",
        "--strip_sources=True",
        f"--VoilaConfiguration.multi_kernel_manager_class={__name__}.CappedKernelManager",
        f"--CappedKernelManager.max_kernels={max_kernels}",
        f"--CappedKernelManager.cull_idle_timeout={idle_timeout}",
        f"--CappedKernelManager.cull_interval={cull_interval}",
        "--CappedKernelManager.cull_connected=False",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m toolkit present", description=__doc__)
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--max-kernels", type=int, default=MAX_KERNELS)
    parser.add_argument("--idle-timeout", type=int, default=IDLE_TIMEOUT, help="seconds")
    parser.add_argument("--cull-interval", type=int, default=CULL_INTERVAL, help="seconds")
    parser.add_argument("--allow-root", action="store_true", help="accepted for make; unused")
    args = parser.parse_args(argv)
    token = secrets.token_urlsafe(24)
    print(f"Open http://127.0.0.1:{args.port}/?token={token}", flush=True)
    from traitlets.config import Config
    from voila.app import Voila

    # Voila hard-codes allow_remote_access=True; tornado_settings are applied after it, so any Host
    # but localhost or a loopback IP (a DNS-rebinding page) gets 403. A bool, hence not on argv.
    config = Config({"Voila": {"tornado_settings": {"allow_remote_access": False}}})
    Voila.launch_instance(
        voila_argv(args.port, token, args.max_kernels, args.idle_timeout, args.cull_interval),
        config=config,
    )
    return 0
