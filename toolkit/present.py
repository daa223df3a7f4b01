"""``python -m toolkit present``: the presenter's view, Voila protected like ``make lab``.

Voila serves ``notebooks/present/``, one short notebook per explorer (growth, funnel, lead budget,
cohorts, income), through the ``presenter`` template in ``toolkit/presenter/``: no code, large type, the
explorer's presets first, a menu of the screens, and nothing fetched from the network (Voila's own
template asks a CDN for Font Awesome; this one does not).

The server: a generated token (the URL printed carries it), bound to 127.0.0.1, the Host header
checked (only loopback names), at most ``MAX_KERNELS`` kernels at once and idle kernels shut
down. A visitor beyond the limit gets a short "full" page (HTTP 503), not a new kernel.

Importing this module stays light (a presenter notebook imports :func:`room`); the Jupyter server
machinery is imported when the server starts or :class:`CappedKernelManager` is first used.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCREENS_DIR = ROOT / "notebooks" / "present"
DEFAULT_SCREEN = "growth"  # the menu's order and titles are in the template's screens.macro.j2
# JUPYTER_PATH root holding voila/templates/presenter (Voila finds templates there)
TEMPLATE_ROOT = Path(__file__).resolve().parent / "presenter"
TEMPLATE = "presenter"
DATA_ENV = "TOOLKIT_PRESENT_DATA"  # the CRM export folder the screens read (unset: the sample)
MAX_KERNELS = 4
IDLE_TIMEOUT = 600  # seconds without activity before a kernel is shut down
CULL_INTERVAL = 60
FULL_MESSAGE = (
    "The explorer is full: {n} visitors already have it open. "
    "Please try again in a few minutes, or ask the presenter to close a screen."
)
# Bokeh text sizes for a projector (figure defaults are 13px titles and 11px ticks).
ROOM_FONTS = {
    "title": "22px",
    "axis_label": "18px",
    "tick": "16px",
    "legend": "16px",
    "label": "16px",
}
ROOM_TEXT_CSS = (
    ":host { font-size: 22px; } :host * { font-size: inherit !important; line-height: 1.4; }"
)


def _capped_kernel_manager():
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from tornado.web import HTTPError
    from traitlets import Integer

    class CappedKernelManager(AsyncMappingKernelManager):
        """A kernel manager that starts at most ``max_kernels`` kernels at once.

        Kernels still starting count too, so visitors arriving together cannot overshoot.
        Beyond the limit it raises ``HTTPError(503)``, which Voila renders with the template's
        ``503.html`` (a "full" page) before any kernel starts.
        """

        max_kernels = Integer(MAX_KERNELS, config=True, help="Most kernels alive at once.")

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self._starting: set[str] = set()

        async def start_kernel(self, *, kernel_id=None, **kwargs):
            if kernel_id is not None and kernel_id in self:  # an existing kernel, not a new one
                return await super().start_kernel(kernel_id=kernel_id, **kwargs)
            if len(set(self.list_kernel_ids()) | self._starting) >= self.max_kernels:
                raise HTTPError(
                    503, FULL_MESSAGE.format(n=self.max_kernels), reason="The explorer is full"
                )
            kernel_id = kernel_id or str(uuid.uuid4())
            self._starting.add(kernel_id)
            try:
                return await super().start_kernel(kernel_id=kernel_id, **kwargs)
            finally:
                self._starting.discard(kernel_id)

    CappedKernelManager.__module__ = __name__
    return CappedKernelManager


def __getattr__(name):
    # CappedKernelManager is built on first use: Voila imports it by name from its config
    if name == "CappedKernelManager":
        cls = _capped_kernel_manager()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def room_data():
    """The CRM export the presenter screens show: ``$TOOLKIT_PRESENT_DATA`` or the sample.

    Returns
    -------
    CRMData
        Read with :func:`toolkit.read_crm` from the folder ``python -m toolkit present --data``
        was given, else :func:`toolkit.load_sample`.
    """
    import toolkit

    folder = os.environ.get(DATA_ENV)
    return toolkit.read_crm(folder) if folder else toolkit.load_sample()


def _room_fonts(layout):
    """Larger text on every title, axis, legend, label and text readout of a Bokeh layout.

    Titles of figures sharing a row keep their size: they are cut off at the figure's edge
    (Bokeh titles do not wrap), and larger type would cut more.
    """
    from bokeh.models import Axis, InlineStyleSheet, Label, LabelSet, Legend, Markup, Plot, Row

    side_by_side = set()
    for model in layout.references():
        if isinstance(model, Row):
            plots = [c for c in model.children if isinstance(c, Plot)]
            if len(plots) > 1:
                side_by_side.update(id(p) for p in plots)
    sheet = InlineStyleSheet(css=ROOM_TEXT_CSS)
    for model in layout.references():
        if isinstance(model, Plot) and id(model) not in side_by_side and model.title is not None:
            model.title.text_font_size = ROOM_FONTS["title"]
        elif isinstance(model, Axis):
            model.axis_label_text_font_size = ROOM_FONTS["axis_label"]
            model.major_label_text_font_size = ROOM_FONTS["tick"]
        elif isinstance(model, Legend):
            model.label_text_font_size = ROOM_FONTS["legend"]
        elif isinstance(model, (Label, LabelSet)):
            model.text_font_size = ROOM_FONTS["label"]
        elif isinstance(model, Markup):
            # readouts carry inline font sizes: an !important sheet in their shadow root wins
            model.stylesheets = [*model.stylesheets, sheet]
    return layout


def room(explorer):
    """An explorer's live view laid out for a room: presets first, wide controls, large type.

    Parameters
    ----------
    explorer : toolkit.explorers.Explorer
        Any explorer (``growth_explorer()``, ``funnel_explorer(table)``, ...). Its figure
        builder is wrapped so titles, axes, legends and readouts use projector sizes; the
        computation is untouched.

    Returns
    -------
    ipywidgets.VBox
        ``explorer.widget()`` with the preset buttons moved above the controls and the CSS
        class ``toolkit-room`` (the presenter template styles it).
    """
    import ipywidgets as w
    from bokeh.io import output_notebook
    from bokeh.io.state import curstate
    from bokeh.resources import INLINE

    if not curstate().notebook:  # the BokehModel widget needs BokehJS in the page, inlined
        output_notebook(resources=INLINE, hide_banner=True)
    build = explorer.build
    explorer.build = lambda results: _room_fonts(build(results))
    box = explorer.widget()
    children = list(box.children)
    presets = [
        c
        for c in children
        if isinstance(c, w.HBox) and c.children and all(isinstance(b, w.Button) for b in c.children)
    ]
    rest = [c for c in children if c not in presets]
    box.children = [*rest[:1], *presets, *rest[1:]]  # the explorer's title stays on top
    for c in presets:
        c.add_class("toolkit-room-presets")
    for control in getattr(box, "inputs", {}).values():
        control.layout.width = "46%"  # two controls a row, long labels and a usable track
    box.add_class("toolkit-room")
    return box


def voila_argv(
    port: int,
    token: str,
    max_kernels: int,
    idle_timeout: int,
    cull_interval: int,
    folder: str | Path = SCREENS_DIR,
) -> list[str]:
    """The Voila command line for the protected presenter server (``folder``: its screens)."""
    return [
        str(folder),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        f"--Voila.token={token}",
        "--strip_sources=True",
        f"--template={TEMPLATE}",
        f"--VoilaConfiguration.multi_kernel_manager_class={__name__}.CappedKernelManager",
        f"--CappedKernelManager.max_kernels={max_kernels}",
        f"--CappedKernelManager.cull_idle_timeout={idle_timeout}",
        f"--CappedKernelManager.cull_interval={cull_interval}",
        "--CappedKernelManager.cull_connected=False",
        # kernels on Unix sockets in Voila's private connection folder, not loopback TCP ports
        # (ipykernel warns at every TCP start that the transport is unencrypted)
        "--KernelManager.transport=ipc",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the presenter server until interrupted; 2 for an unknown screen or a broken export."""
    parser = argparse.ArgumentParser(
        prog="python -m toolkit present",
        description="Serve the presenter's view (one explorer per screen) in Voila, "
        "on 127.0.0.1 with a token.",
    )
    parser.add_argument(
        "--port", type=int, default=8888, help="on 127.0.0.1 (default: %(default)s)"
    )
    parser.add_argument(
        "--notebook",
        default=DEFAULT_SCREEN,
        help="the screen the printed URL opens: "
        f"{', '.join(sorted(p.stem for p in SCREENS_DIR.glob('*.ipynb')))} (default: %(default)s)",
    )
    parser.add_argument("--data", help="folder of a CRM export (default: the bundled sample)")
    parser.add_argument(
        "--folder", default=str(SCREENS_DIR), help="serve these notebooks instead of the screens"
    )
    parser.add_argument(
        "--max-kernels",
        type=int,
        default=MAX_KERNELS,
        help="screens open at once, each a Python kernel of ~340 MB (default: %(default)s)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=int,
        default=IDLE_TIMEOUT,
        help="seconds before a kernel no screen is connected to is shut down "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--cull-interval",
        type=int,
        default=CULL_INTERVAL,
        help="seconds between checks for idle kernels (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    folder = Path(args.folder).resolve()
    screens = sorted(p.stem for p in folder.glob("*.ipynb"))
    if args.notebook not in screens:
        print(
            f"python -m toolkit present: no screen {args.notebook!r} in {folder}; "
            f"choose one of: {', '.join(screens) or '(no notebooks there)'}",
            file=sys.stderr,
        )
        return 2
    if args.max_kernels < 1:
        print("python -m toolkit present: --max-kernels must be at least 1", file=sys.stderr)
        return 2
    if args.data:
        import toolkit

        try:  # a broken export is refused here, not in front of the room
            toolkit.read_crm(args.data)
        except toolkit.DataError as error:
            print(f"python -m toolkit present: {error}", file=sys.stderr)
            return 2
        os.environ[DATA_ENV] = str(Path(args.data).resolve())  # kernels inherit it
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(TEMPLATE_ROOT), os.environ.get("JUPYTER_PATH", "")) if p
    )
    token = secrets.token_urlsafe(24)
    base = f"http://127.0.0.1:{args.port}"
    print(f"Presenter view: {base}/voila/render/{args.notebook}.ipynb?token={token}", flush=True)
    print(f"All screens:    {base}/?token={token}", flush=True)
    print(
        f"At most {args.max_kernels} screens open at once; idle ones close after "
        f"{args.idle_timeout} s.",
        flush=True,
    )
    from traitlets.config import Config
    from voila.app import Voila

    # Voila hard-codes allow_remote_access=True; tornado_settings are applied after it, so any Host
    # but localhost or a loopback IP (a DNS-rebinding page) gets 403. A bool, hence not on argv.
    config = Config({"Voila": {"tornado_settings": {"allow_remote_access": False}}})
    Voila.launch_instance(
        voila_argv(
            args.port, token, args.max_kernels, args.idle_timeout, args.cull_interval, folder
        ),
        config=config,
    )
    return 0
