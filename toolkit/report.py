"""Reports: run every tour notebook on a data folder and export self-contained HTML.

``python -m toolkit report [--data DIR] [--out DIR] [--no-code]`` (and ``make report``):

1. reads and validates the data folder first, so bad data stops with the
   :class:`~toolkit.DataError` message instead of a traceback from inside a notebook;
2. hands the notebooks a copy of the data holding only the contract's columns, so a name,
   email or phone column in the export never reaches a notebook (privacy by construction);
3. executes each ``notebooks/*.ipynb`` with papermill (parameters ``data_dir`` and ``as_of``)
   with ``TOOLKIT_RENDERER=static``, so explorers export as Bokeh widgets over a precomputed
   state grid (they respond without a kernel);
4. exports one HTML file per notebook with a template that inlines BokehJS and drops every
   network reference nbconvert adds by default (require.js, MathJax, Mermaid, the widget
   manager), plus an ``index.html``;
5. checks each page: no external resource, and no value of a dropped personal-data column.
"""

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
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

from toolkit.schema import TABLES, DataError

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"

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


class ReportError(RuntimeError):
    """A notebook failed, or an exported page broke the offline or privacy rules."""


@dataclass
class Page:
    notebook: Path
    html: Path
    title: str
    seconds: float


def find_notebooks(folder: Path | None = None) -> list[Path]:
    folder = Path(folder) if folder else NOTEBOOKS_DIR
    found = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if not found:
        raise ReportError(f"{folder}: no notebooks (*.ipynb) to run")
    return found


def _personal_values(data) -> set[str]:
    """Text of every column outside the contract (name, email, phone, notes...): the values
    that must never appear in a report. Only strings of 4+ characters, to avoid matching '1'."""
    values: set[str] = set()
    for name, frame in data.tables().items():
        contract = set(TABLES[name].column_names)
        for col in frame.columns:
            if col in contract:
                continue
            for value in frame[col].dropna().astype(str).unique():
                if len(value.strip()) >= 4:
                    values.add(value.strip())
    return values


def prepare_data(data_dir, as_of=None) -> tuple[Path, str, set[str]]:
    """Validate ``data_dir`` and write a copy with only the contract's columns.

    Returns the copy's folder, ``as_of`` as ISO text and the personal values dropped.
    Raises :class:`toolkit.DataError` if the folder breaks the contract.
    """
    from toolkit.datasets import read_crm, write_crm

    data = read_crm(data_dir, as_of=as_of)
    personal = _personal_values(data)
    tables = {}
    for name, frame in data.tables().items():
        tables[name] = frame[[c for c in TABLES[name].column_names if c in frame.columns]]
    clean = replace(data, **tables)
    folder = Path(tempfile.mkdtemp(prefix="toolkit-report-data-"))
    write_crm(clean, folder, format="parquet")
    return folder, clean.as_of.isoformat(), personal


def _exporter(include_code: bool):
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
        template_file=_TEMPLATE_NAME,
        exclude_input=not include_code,
        exclude_input_prompt=not include_code,
        exclude_output_prompt=not include_code,
    )
    return exporter


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


def check_page(text: str, personal: set[str] = frozenset(), *, where: str = "page") -> None:
    """Raise :class:`ReportError` if ``text`` loads anything from the network or shows a
    personal value (the error names the page, never the value)."""
    match = _EXTERNAL.search(text)
    if match:
        raise ReportError(f"{where}: loads an external resource ({match.group(0)[:80]!r})")
    leaked = sum(1 for value in personal if value in text or html.escape(value) in text)
    if leaked:
        raise ReportError(f"{where}: shows {leaked} value(s) of personal-data columns")


def _run_one(path: Path, out_dir: Path, work_dir: Path, parameters: dict, include_code: bool):
    # papermill runs nbclient through jupyter_core's event loop for this worker thread, which
    # nobody closes when the thread ends (a ResourceWarning later): close it here.
    from jupyter_core.utils import ensure_event_loop

    try:
        return _execute_and_export(path, out_dir, work_dir, parameters, include_code)
    finally:
        loop = ensure_event_loop()
        asyncio.set_event_loop(None)
        loop.close()


def _execute_and_export(
    path: Path, out_dir: Path, work_dir: Path, parameters: dict, include_code: bool
):
    import papermill as pm

    t0 = time.perf_counter()
    executed = work_dir / path.name
    try:
        nb = pm.execute_notebook(
            str(path),
            str(executed),
            parameters=parameters,
            kernel_name="python3",
            language="python",
            progress_bar=False,
            log_output=False,
            cwd=str(path.parent),
        )
    except pm.PapermillExecutionError as err:
        if err.ename == "DataError":
            raise DataError(f"{path.name}: {err.evalue}") from None
        raise ReportError(
            f"{path.name} failed in cell {err.exec_count}: {err.ename}: {err.evalue}"
        ) from None
    _strip_widgets(nb)
    _inert_scripts(nb)
    body, _resources = _exporter(include_code).from_notebook_node(nb)
    target = out_dir / f"{path.stem}.html"
    target.write_text(body, encoding="utf-8")
    return Page(path, target, _title(nb, path.stem), time.perf_counter() - t0)


def _index(pages: list[Page], *, source: str, as_of: str, seconds: float) -> str:
    rows = "\n".join(
        f'<li><a href="{html.escape(p.html.name)}">{html.escape(p.title)}</a> '
        f"<small>({html.escape(p.notebook.name)})</small></li>"
        for p in pages
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>MLM Funnel Toolkit report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
li{{margin:.4em 0}} small{{color:#666}}</style></head>
<body><h1>MLM Funnel Toolkit report</h1>
<p>Data: {html.escape(source)}; export date (as of): {html.escape(as_of or "latest timestamp")}.</p>
<ol>
{rows}
</ol>
<p><small>Each page works offline, without Python: the sliders step through results computed in
advance. Aggregates only. Built in {seconds:.0f} s.</small></p>
</body></html>
"""


def build_report(
    data_dir=None,
    out_dir="reports",
    *,
    as_of=None,
    include_code: bool = True,
    notebooks: Sequence[Path] | Path | None = None,
    jobs: int = 2,
    progress: bool = True,
) -> list[Path]:
    """Execute the tour notebooks on ``data_dir`` and write offline HTML pages to ``out_dir``.

    Parameters
    ----------
    data_dir : str or Path, optional
        A CRM export folder (CSV or Parquet); None runs on the bundled sample.
    out_dir : str or Path
        Where ``NN_name.html`` and ``index.html`` go (created if needed).
    as_of : timestamp-like, optional
        The export date; defaults to the latest timestamp in the data.
    include_code : bool
        False hides code cells and prompts (``--no-code``).
    notebooks : folder or list of paths, optional
        Defaults to every ``notebooks/*.ipynb`` of the project.
    jobs : int
        Notebooks executed at the same time (each runs in its own kernel).

    Returns
    -------
    list of Path
        The pages written, ``index.html`` last.

    Raises
    ------
    toolkit.DataError
        The data folder breaks the contract (raised before any notebook runs).
    ReportError
        A notebook failed, or a page would load something from the network or show a value of a
        personal-data column.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    if notebooks is None or isinstance(notebooks, (str, Path)):
        paths = find_notebooks(notebooks)
    else:
        paths = [Path(p) for p in notebooks]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    personal: set[str] = set()
    data_copy = None
    parameters: dict = {"data_dir": None, "as_of": None if as_of is None else str(as_of)}
    if data_dir is not None:
        data_copy, as_of_text, personal = prepare_data(data_dir, as_of)
        parameters = {"data_dir": str(data_copy), "as_of": as_of_text}
    work = Path(tempfile.mkdtemp(prefix="toolkit-report-run-"))
    previous = os.environ.get("TOOLKIT_RENDERER")
    os.environ["TOOLKIT_RENDERER"] = "static"  # inherited by every kernel papermill starts
    pages: list[Page] = []
    try:
        with (
            ThreadPoolExecutor(max_workers=max(1, jobs)) as pool,
            tqdm(total=len(paths), desc="report", unit="notebook", disable=not progress) as bar,
        ):
            futures = {
                pool.submit(_run_one, p, out, work, parameters, include_code): p for p in paths
            }
            for future in as_completed(futures):
                page = future.result()
                bar.set_postfix_str(f"{page.notebook.name} {page.seconds:.0f}s")
                bar.update()
                pages.append(page)
    finally:
        if previous is None:
            os.environ.pop("TOOLKIT_RENDERER", None)
        else:
            os.environ["TOOLKIT_RENDERER"] = previous
        shutil.rmtree(work, ignore_errors=True)
        if data_copy is not None:
            shutil.rmtree(data_copy, ignore_errors=True)
    pages.sort(key=lambda p: p.notebook.name)
    for page in pages:
        check_page(page.html.read_text(encoding="utf-8"), personal, where=page.html.name)
    source = "bundled sample" if data_dir is None else Path(data_dir).name
    index = out / "index.html"
    index.write_text(
        _index(
            pages, source=source, as_of=parameters["as_of"] or "", seconds=time.perf_counter() - t0
        ),
        encoding="utf-8",
    )
    return [p.html for p in pages] + [index]


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
    parser.add_argument("--no-code", action="store_true", help="hide code cells")
    parser.add_argument("--notebooks", help="folder of notebooks (default: notebooks/)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run at once (default: 2)")
    args = parser.parse_args(argv)
    try:
        written = build_report(
            args.data,
            args.out,
            as_of=args.as_of,
            include_code=not args.no_code,
            notebooks=Path(args.notebooks) if args.notebooks else None,
            jobs=args.jobs,
        )
    except DataError as err:
        print(f"error: the data in {args.data} breaks the contract:\n{err}", file=sys.stderr)
        return 2
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} pages to {Path(args.out).resolve()} (open index.html)")
    return 0
