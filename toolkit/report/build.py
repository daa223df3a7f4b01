"""Building the report: export each executed notebook as a checked, self-contained page, and the
index; ``build_report`` and the ``python -m toolkit report`` command. See :mod:`toolkit.report`."""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.report.kernels import ReportError, _Kernels, _Run, _set_parameters
from toolkit.report.privacy import PrivacyCheck, prepare_data
from toolkit.schema import DataError

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"

# A template that is nbconvert's "lab" template minus every script it loads from a CDN.
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}
<style type="text/css">
/* let stretch-width Bokeh layouts use the page's width (the output area shrinks to content) */
.jp-OutputArea-output:has(> [data-root-id]) { display: block; width: 100%; }
/* a table wider than the page scrolls sideways instead of being cut at the right */
.jp-OutputArea-output { min-width: 0; max-width: 100%; overflow-x: auto; }
</style>
{% endblock extra_css %}
"""
_TEMPLATE_NAME = "toolkit_offline.html.j2"
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# A resource the browser would fetch by itself: scripts, stylesheets, images, frames, CSS url().
_EXTERNAL = re.compile(
    r"""(?:<(?:script|img|iframe|source|audio|video|embed)\b[^>]*?\ssrc\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|<link\b[^>]*?\shref\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+["'](?:https?:)?//)""",
    re.IGNORECASE,
)


@dataclass
class Page:
    notebook: Path
    html: Path
    title: str
    seconds: float
    answers: str = ""


def find_notebooks(folder: Path | None = None) -> list[Path]:
    folder = Path(folder) if folder else NOTEBOOKS_DIR
    found = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if not found:
        raise ReportError(f"{folder}: no notebooks (*.ipynb) to run")
    return found


def _exporter(include_code: bool):
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
        template_file=_TEMPLATE_NAME,
        exclude_input=not include_code,
        exclude_input_prompt=not include_code,
        exclude_output_prompt=not include_code,
    )


def _strip_widgets(nb) -> None:
    """Kernel-less pages cannot run ipywidgets: drop their state and keep the text fallback."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data and _WIDGET_MIME in data:
                data.pop(_WIDGET_MIME)
                if not data:
                    data["text/plain"] = ""


# Inside an inline <script>, only these sequences end or derail the element (HTML spec 4.12.1.3);
# written as \x3C they mean the same character to JavaScript (strings, regexes, comments).
_SCRIPT_BREAK = re.compile(r"<(?=/script|script|!--)", re.IGNORECASE)
_SCRIPT_MIMES = ("application/javascript", "text/javascript")


def script_safe(code: str) -> str:
    """JavaScript made inert to HTML parsing: data such as a lead source named
    ``</script><script>alert(1)</script>`` (Bokeh writes docs_json into the notebook's
    application/javascript output as a JS literal) can no longer close the page's script."""
    return _SCRIPT_BREAK.sub(r"\\x3C", code)


def _inert_scripts(nb) -> None:
    """Every script output the exporter will inline, escaped once for the page (one mechanism
    for every plot and explorer)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            for mime in _SCRIPT_MIMES:
                if isinstance(data.get(mime), str):
                    data[mime] = script_safe(data[mime])


def _title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


# What each page of the tour answers, one line each on the index (other notebooks: the part of
# their title after the colon).
ANSWERS = {
    "00_your_data": "What the export holds, when it was taken, and what is checked before use.",
    "01_funnel": "How many contacts become leads, prospects and customers within 90 days, "
    "by lead type, with the range of each rate.",
    "02_lead_quality": "Which kinds of lead become customers, and what one customer costs "
    "from each source.",
    "03_cohorts": "Who stays, who keeps buying and who grows, month by month after joining.",
    "04_network_growth": "How far duplication can grow a network, where the curve bends, and "
    "what a typical participant gets.",
    "05_downline": "How deep and wide the sponsorship tree is, and which levels the volume "
    "comes from.",
}


def _answers(notebook: Path, title: str) -> str:
    if notebook.stem in ANSWERS:
        return ANSWERS[notebook.stem]
    _, _, rest = title.partition(":")
    return rest.strip()[:1].upper() + rest.strip()[1:] if rest.strip() else ""


def check_page(text: str, privacy=None, *, where: str = "page") -> None:
    """Raise :class:`ReportError` if ``text`` loads anything from the network or shows a
    personal value (the error names the page, never the value).

    Parameters
    ----------
    text : str
        The page.
    privacy : PrivacyCheck or iterable of str, optional
        The personal values no page may show (a plain collection is turned into a check).
    where : str
        The page's name, for the message.
    """
    if privacy is not None and not isinstance(privacy, PrivacyCheck):
        privacy = PrivacyCheck(privacy)
    match = _EXTERNAL.search(text)
    if match:
        raise ReportError(f"{where}: loads an external resource ({match.group(0)[:80]!r})")
    leaked = privacy.leaks(text) if privacy is not None else 0
    if leaked:
        raise ReportError(
            f"{where}: shows {leaked} value(s) of personal-data columns; nothing was written"
        )


# The report ------------------------------------------------------------------------------------


def as_of_in_words(as_of) -> str:
    """``2025-03-31 14:05`` as "31 March 2025, 14:05 UTC" (the time only when not midnight)."""
    import pandas as pd

    ts = pd.Timestamp(as_of)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    words = f"{ts.day} {ts.strftime('%B %Y')}"
    if ts != ts.normalize():
        words += f", {ts.strftime('%H:%M')} UTC"
    return words


def _index(pages: list[Page], *, source: str, as_of, seconds: float) -> str:
    rows = "\n".join(
        f'<li><a href="{html.escape(p.html.name)}">{html.escape(p.title)}</a>'
        + (f"<br>{html.escape(p.answers)}" if p.answers else "")
        + "</li>"
        for p in pages
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>MLM Funnel Toolkit report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
li{{margin:.6em 0}} small{{color:#666}}</style></head>
<body><h1>MLM Funnel Toolkit report</h1>
<p>Export taken on <strong>{html.escape(as_of_in_words(as_of))}</strong>
(data: {html.escape(source)}). Every figure counts what had happened by then.</p>
<ol>
{rows}
</ol>
<p><small>Each page works offline, without Python: the sliders step through results computed in
advance. Aggregates only. Built in {seconds:.0f} s.</small></p>
</body></html>
"""


def _claim_output(out: Path, force: bool) -> bool:
    """Refuse an existing, non-empty output folder unless ``force``; True if it will be
    replaced."""
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise ReportError(
                f"{out} already exists; choose another --out, or pass --force to replace "
                "the whole folder"
            )
        return True
    return False


def _move_into_place(staging: Path, out: Path) -> None:
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
        out.rename(old / out.name)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out)


def _run_coroutine(make):
    """``asyncio.run(make())``, in a thread of its own when this thread already runs an event
    loop (a notebook, Playwright's sync API)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


@dataclass
class Timings:
    """Where a report's time went, in seconds (``build_report(..., timings=Timings())``)."""

    prepare: float = 0.0  # reading, validating and copying the data; the privacy check's setup
    kernel_start: float = 0.0  # the slowest kernel, launch to imports done (beside ``prepare``)
    by_notebook: dict[str, float] = field(default_factory=dict)  # each notebook's execution
    export: float = 0.0  # nbconvert to HTML, summed
    checks: float = 0.0  # offline and privacy checks of every page, summed
    total: float = 0.0

    @property
    def execution(self) -> float:
        """Notebook execution, summed over kernels."""
        return sum(self.by_notebook.values())


def build_report(
    data_dir=None,
    out_dir="reports",
    *,
    as_of=None,
    include_code: bool = False,
    notebooks: Sequence[Path] | Path | None = None,
    jobs: int = 2,
    force: bool = False,
    progress: bool = True,
    timings: Timings | None = None,
) -> list[Path]:
    """Execute the tour notebooks on ``data_dir`` and write offline HTML pages to ``out_dir``.

    Pages are written to a fresh folder beside ``out_dir`` and moved into place only when every
    page passed its checks, so a failed report leaves nothing behind.

    Parameters
    ----------
    data_dir : str or Path, optional
        A CRM export folder (CSV or Parquet); None runs on the bundled sample.
    out_dir : str or Path
        Where ``NN_name.html`` and ``index.html`` go. An existing, non-empty folder is refused
        unless ``force``.
    as_of : timestamp-like, optional
        The export date; defaults to the latest timestamp in the data.
    include_code : bool
        True shows code cells and prompts (``--with-code``); handouts hide them by default.
    notebooks : folder or list of paths, optional
        Defaults to every ``notebooks/*.ipynb`` of the project.
    jobs : int
        Kernels run at the same time; each runs its share of the notebooks one after another,
        in a fresh namespace each time.
    force : bool
        Replace an existing ``out_dir`` as a whole.
    progress : bool
        Show a progress bar.
    timings : Timings, optional
        Filled with where the time went.

    Returns
    -------
    list of Path
        The pages written, ``index.html`` last.

    Raises
    ------
    toolkit.DataError
        The data folder breaks the contract (raised before any notebook runs).
    ReportError
        ``out_dir`` exists (without ``force``), a notebook failed, or a page would load something
        from the network or show a value of a personal-data column.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    timings = timings if timings is not None else Timings()
    if notebooks is None or isinstance(notebooks, (str, Path)):
        paths = find_notebooks(notebooks)
    else:
        paths = [Path(p) for p in notebooks]
    out = Path(out_dir).absolute()
    _claim_output(out, force)
    prepared: dict = {}  # data_copy, as_of, privacy, once the data is read
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp's folder is private; the report is meant to be shared
    run_dir = Path(tempfile.mkdtemp(prefix="toolkit-report-run-"))
    # explorers export as Bokeh widgets over precomputed grids (they respond without a kernel)
    env = {**os.environ, "TOOLKIT_RENDERER": "static"}
    # the kernels run side by side: each Polars pool gets its share of the cores (two pools of
    # every core each spent a tenth of the growth explorer's grid on contention); a value set
    # by the caller stands
    share = max(1, (os.cpu_count() or 1) // max(1, min(jobs, len(paths))))
    env.setdefault("POLARS_MAX_THREADS", str(share))
    exporter = _exporter(include_code)
    pages: list[Page] = []

    def export(run: _Run) -> Page:
        nb = run.nb
        t1 = time.perf_counter()
        shown = {"data_dir": None if data_dir is None else str(data_dir)}
        shown["as_of"] = prepared["as_of"].isoformat()
        index = _set_parameters(nb, shown)  # the page shows what the reader passed
        if not include_code:
            del nb.cells[index]  # no output, nothing to show without its code
        _strip_widgets(nb)
        _inert_scripts(nb)
        body, _resources = exporter.from_notebook_node(nb)
        t2 = time.perf_counter()
        target = staging / f"{run.notebook.stem}.html"
        check_page(body, prepared["privacy"], where=target.name)
        timings.export += t2 - t1
        timings.checks += time.perf_counter() - t2
        target.write_text(body, encoding="utf-8")
        title = _title(nb, run.notebook.stem)
        return Page(
            run.notebook, out / target.name, title, run.seconds, _answers(run.notebook, title)
        )

    async def main(bar) -> None:
        import nbformat

        loop = asyncio.get_running_loop()
        kernels = _Kernels(
            jobs=max(1, min(jobs, len(paths))), folder=run_dir, env=env, cwd=paths[0].parent
        )
        kernels.start()  # they start and import while the data is read and checked
        try:
            folder, as_of_ts, privacy = await loop.run_in_executor(
                None, prepare_data, data_dir, as_of, paths
            )
            prepared.update(data_copy=folder, as_of=as_of_ts, privacy=privacy)
            timings.prepare = time.perf_counter() - t0
            used = {"data_dir": str(folder), "as_of": as_of_ts.isoformat()}
            items = []
            for path in paths:
                nb = nbformat.read(path, as_version=4)
                _set_parameters(nb, used)
                items.append((path, nb))
            # a notebook marked slow starts first, so the other kernels share the rest
            items.sort(key=lambda item: not item[1].metadata.get("toolkit", {}).get("slow", False))
            # one thread exports and checks pages (nbconvert is not shared across threads)
            # while the kernels go on with the next notebooks
            with ThreadPoolExecutor(max_workers=1) as pool:

                async def done(run: _Run) -> None:
                    timings.by_notebook[run.notebook.name] = run.seconds
                    pages.append(await loop.run_in_executor(pool, export, run))
                    bar.set_postfix_str(f"{run.notebook.name} {run.seconds:.0f}s")
                    bar.update()

                await kernels.run(items, done)
        finally:
            await kernels.stop()
            timings.kernel_start = kernels.kernel_start

    try:
        with tqdm(total=len(paths), desc="report", unit="notebook", disable=not progress) as bar:
            _run_coroutine(lambda: main(bar))
        pages.sort(key=lambda p: p.notebook.name)
        timings.total = time.perf_counter() - t0
        source = "bundled sample" if data_dir is None else Path(data_dir).name
        text = _index(pages, source=source, as_of=prepared["as_of"], seconds=timings.total)
        check_page(text, prepared["privacy"], where="index.html")
        (staging / "index.html").write_text(text, encoding="utf-8")
        _move_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)
        if "data_copy" in prepared:
            shutil.rmtree(prepared["data_copy"], ignore_errors=True)
    return [p.html for p in pages] + [out / "index.html"]


def main(argv: Sequence[str] | None = None) -> int:
    """``report`` subcommand of ``python -m toolkit``; returns the exit code."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m toolkit report",
        description="Run every tour notebook on a CRM export and write offline HTML pages.",
    )
    parser.add_argument("--data", help="folder of the CRM export (default: the bundled sample)")
    parser.add_argument("--out", default="reports", help="output folder (default: reports)")
    parser.add_argument("--as-of", help="export date (default: the latest timestamp in the data)")
    code = parser.add_mutually_exclusive_group()
    code.add_argument("--with-code", action="store_true", help="show code cells")
    code.add_argument("--no-code", action="store_true", help="hide code cells (the default)")
    parser.add_argument(
        "--force", action="store_true", help="replace an existing output folder as a whole"
    )
    parser.add_argument("--notebooks", help="folder of notebooks (default: notebooks/)")
    parser.add_argument("--jobs", type=int, default=2, help="kernels run at once (default: 2)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        replacing = _claim_output(out.absolute(), args.force)
        if replacing:
            print(f"replacing the existing folder {out.resolve()} (--force)", file=sys.stderr)
        written = build_report(
            args.data,
            out,
            as_of=args.as_of,
            include_code=args.with_code,
            notebooks=Path(args.notebooks) if args.notebooks else None,
            jobs=args.jobs,
            force=args.force,
        )
    except DataError as err:
        print(f"error: the data in {args.data} breaks the contract:\n{err}", file=sys.stderr)
        return 2
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} pages to {out.resolve()} (open index.html)")
    return 0
