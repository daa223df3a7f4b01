"""Reports: run every tour notebook on a data folder and export self-contained HTML.

``python -m toolkit report [--data DIR] [--out DIR] [--with-code] [--force]`` (and ``make report``):

1. reads and validates the data folder first, so bad data stops with the
   :class:`~toolkit.DataError` message instead of a traceback from inside a notebook, and learns
   from it which personal values (name, email, phone, notes... columns) no page may show;
2. hands the notebooks a copy of the data holding only the contract's columns, so a personal
   column never reaches a notebook (privacy by construction);
3. executes the notebooks in two kernels started at once over IPC sockets, each running its share
   one after another in a fresh namespace (imports are paid once per kernel), with
   ``TOOLKIT_RENDERER=static``, so explorers export as Bokeh widgets over a precomputed state grid
   (they respond without a kernel);
4. exports one HTML file per notebook, without code unless asked, with a template that inlines
   BokehJS and drops every network reference nbconvert adds by default (require.js, MathJax,
   Mermaid, the widget manager), plus an ``index.html`` giving the export date and what each page
   answers;
5. checks each page before writing it (no external resource; no personal value, one pass over the
   page's tokens) into a fresh folder beside the target, moved into place only when all passed.
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
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import chain
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


class ReportError(RuntimeError):
    """A notebook failed, or an exported page broke the offline or privacy rules."""


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


# Privacy check. Tokens are runs of word characters, compared case-folded; a personal value is
# flagged when its whole token sequence appears in a page. Values with fewer word characters than
# this are ignored (initials, "n/a", a two-digit age would match numbers on every page).
MIN_PERSONAL_CHARS = 5
# A token is a run of word characters; NUL (never in a page) separates texts tokenised together.
_TOKEN = re.compile(r"\w+|\x00")
_SEPARATOR = "\x00"
# JavaScript/JSON escapes a page may write a value's characters with (Bokeh's docs_json).
_JS_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\[nrtbf/]")
# Script blocks at least this long are scanned once per report (BokehJS, inlined on every page).
_BIG_BLOCK = 65_536
_SCRIPT_TAG = re.compile(r"</?script", re.IGNORECASE)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _unescape_js(match: re.Match) -> str:
    code = match.group(1) or match.group(2)
    return chr(int(code, 16)) if code else " "


def _tokens(text: str) -> list[str]:
    """The word tokens of ``text`` as a reader would see them (HTML entities and JS escapes
    decoded, case folded)."""
    text = html.unescape(_JS_ESCAPE.sub(_unescape_js, text.replace(_SEPARATOR, " ")))
    return _TOKEN.findall(text.casefold())


def _token_sequences(texts) -> list[tuple[str, ...]]:
    """``_tokens`` of each text, tokenised in one pass (texts joined by the separator)."""
    blob = _SEPARATOR.join(str(t).replace(_SEPARATOR, " ") for t in texts)
    text = html.unescape(_JS_ESCAPE.sub(_unescape_js, blob)).casefold()
    return [tuple(part.split()) for part in " ".join(_TOKEN.findall(text)).split(_SEPARATOR)]


class PrivacyCheck:
    """The personal values no page may show, and a linear scan of a page for them.

    Built from the data before any notebook runs: the text values of every column outside the
    contract (name, email, phone, notes...), minus values with fewer than
    ``MIN_PERSONAL_CHARS`` word characters and minus values that also occur in ``allowed`` texts
    (contract columns such as sources or ids, the notebooks' own cells, the inlined BokehJS),
    which a page shows legitimately.

    A page is scanned in one pass: it is tokenised once (runs of word characters, case folded,
    HTML entities and JavaScript escapes decoded); each value is looked up by its rarest token in
    the page's token set, and only the positions of those tokens are compared with the value.
    Large script blocks seen on an earlier page (BokehJS) are not scanned twice.

    Parameters
    ----------
    values : iterable of str
        Values of personal-data columns.
    allowed : iterable of str
        Texts whose content may appear on a page whatever the personal columns hold.
    """

    def __init__(self, values=(), allowed=()):
        sequences = {
            seq
            for seq in _token_sequences(values)
            if seq and sum(map(len, seq)) >= MIN_PERSONAL_CHARS
        }
        self._blocks: dict[str, set[tuple[str, ...]]] = {}
        self._index = self._build(sequences)
        if sequences:
            stream = [t for seq in _token_sequences(allowed) for t in (*seq, _SEPARATOR)]
            shared = self._find(stream, self._index)  # shown legitimately: not checked
            if shared:
                for anchor, entries in list(self._index.items()):
                    kept = [entry for entry in entries if entry[0] not in shared]
                    if kept:
                        self._index[anchor] = kept
                    else:
                        del self._index[anchor]
            sequences -= shared
        self.count = len(sequences)

    @staticmethod
    def _build(sequences) -> dict[str, list[tuple[tuple[str, ...], int]]]:
        # anchor each value on its least frequent token among all values, so a value is only
        # compared where a rare token of it occurs
        frequency = Counter(chain.from_iterable(map(set, sequences)))
        index: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for seq in sequences:
            anchor = min(seq, key=frequency.__getitem__)
            index.setdefault(anchor, []).append((seq, seq.index(anchor)))
        return index

    @staticmethod
    def _find(tokens: list[str], index) -> set[tuple[str, ...]]:
        found: set[tuple[str, ...]] = set()
        anchors = index.keys() & set(tokens)
        if not anchors:
            return found
        for i in [i for i, token in enumerate(tokens) if token in anchors]:
            for seq, offset in index[tokens[i]]:
                start = i - offset
                if start >= 0 and tuple(tokens[start : start + len(seq)]) == seq:
                    found.add(seq)
        return found

    def leaks(self, text: str) -> int:
        """How many distinct personal values ``text`` shows."""
        if not self._index:
            return 0
        found: set[tuple[str, ...]] = set()
        small: list[str] = []
        # a value never spans a script tag: split there and remember what big blocks held
        # (BokehJS differs between pages only by the output's element id, a UUID)
        for block in _SCRIPT_TAG.split(text):
            if len(block) < _BIG_BLOCK:
                small.append(block)
                continue
            key = _UUID.sub(" ", block)
            if key not in self._blocks:
                self._blocks[key] = self._find(_tokens(key), self._index)
            found |= self._blocks[key]
        found |= self._find(_tokens(_SEPARATOR.join(small)), self._index)
        return len(found)


def _allowed_texts(data, notebooks: Sequence[Path]):
    """Texts a page may show whatever the personal columns hold: contract columns' text values,
    the notebooks' cells and the inlined BokehJS."""
    from bokeh.resources import INLINE
    from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

    for name, frame in data.tables().items():
        for col in TABLES[name].column_names:
            # numbers and dates are not compared: tokens are words, not digits of a table
            if col in frame.columns and not (
                is_numeric_dtype(frame[col]) or is_datetime64_any_dtype(frame[col])
            ):
                yield from frame[col].dropna().astype(str).unique()
    for path in notebooks:
        yield path.read_text(encoding="utf-8")
    yield from INLINE.js_raw


def _personal_values(data):
    """Every text value of a column outside the contract (name, email, phone, notes...)."""
    for name, frame in data.tables().items():
        contract = set(TABLES[name].column_names)
        for col in frame.columns:
            if col not in contract:
                yield from frame[col].dropna().astype(str).unique()


def prepare_data(data_dir=None, as_of=None, notebooks: Sequence[Path] = ()):
    """Validate ``data_dir`` and write a copy with only the contract's columns.

    Parameters
    ----------
    data_dir : str or Path, optional
        A CRM export folder; None is the bundled sample.
    as_of : timestamp-like, optional
        The export date; defaults to the latest timestamp in the data.
    notebooks : sequence of Path
        The notebooks the report runs (their own text is never a leak).

    Returns
    -------
    folder : Path
        The copy (Parquet), for the notebooks.
    as_of : pandas.Timestamp
        The export date.
    privacy : PrivacyCheck
        The personal values no page may show.

    Raises
    ------
    toolkit.DataError
        The folder breaks the contract.
    """
    from toolkit.datasets import SAMPLE_DIR, load_sample, read_crm, write_crm

    if data_dir is None and as_of is None and (SAMPLE_DIR / "leads.csv").exists():
        data = load_sample()
    else:
        data = read_crm(SAMPLE_DIR if data_dir is None else data_dir, as_of=as_of)
    privacy = PrivacyCheck(_personal_values(data), _allowed_texts(data, notebooks))
    tables = {}
    for name, frame in data.tables().items():
        tables[name] = frame[[c for c in TABLES[name].column_names if c in frame.columns]]
    clean = replace(data, **tables)
    folder = Path(tempfile.mkdtemp(prefix="toolkit-report-data-"))
    write_crm(clean, folder, format="parquet")
    return folder, clean.as_of, privacy


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


# Parameters ------------------------------------------------------------------------------------


def _with_values(source: str, parameters: dict) -> str:
    """``source`` with each one-line ``name = default`` of ``parameters`` given its value (the
    comment after it kept); names it does not assign are added at the end."""
    import ast

    lines = source.splitlines()
    todo = dict(parameters)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = ast.Module(body=[], type_ignores=[])
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in todo
            and node.lineno == node.end_lineno
        ):
            name = node.targets[0].id
            line = lines[node.lineno - 1]
            rest = line[node.end_col_offset :]
            comment = rest[rest.index("#") :] if "#" in rest else ""
            assignment = f"{line[: node.col_offset]}{name} = {todo.pop(name)!r}"
            lines[node.lineno - 1] = f"{assignment}  {comment}" if comment else assignment
    lines += [f"{name} = {value!r}" for name, value in todo.items()]
    return "\n".join(lines)


def _set_parameters(nb, parameters: dict) -> int:
    """Give ``parameters`` their values in the notebook's cell tagged ``parameters`` (one added
    on top if it has none) and return its index. The values replace the defaults in place, so a
    page shows one parameters cell, never a second "injected" one."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            cell.source = _with_values(cell.source, parameters)
            return i
    import nbformat

    cell = nbformat.v4.new_code_cell(_with_values("", parameters))
    cell.metadata["tags"] = ["parameters"]
    nb.cells.insert(0, cell)
    return 0


# Running notebooks -----------------------------------------------------------------------------

# Between two notebooks in one kernel: a fresh namespace and the libraries' display state reset,
# so a notebook sees only what it defines (modules stay imported: that is the time saved).
_RESET = """\
get_ipython().run_line_magic("reset", "-f")
def _toolkit_reset():
    import sys
    if "pandas" in sys.modules:
        sys.modules["pandas"].reset_option("display")
    if "bokeh.io" in sys.modules:
        sys.modules["bokeh.io"].reset_output()
_toolkit_reset()
del _toolkit_reset
"""


@dataclass
class _Run:
    notebook: Path
    nb: object
    seconds: float


# Imported by each kernel as soon as it starts, while the report reads and checks the data (a
# notebook's own imports then cost nothing); the reset below leaves no name behind.
_WARM_UP = """\
import importlib
for _name in ("pandas", "bokeh.io", "bokeh.resources", "toolkit", "toolkit.explorers"):
    importlib.import_module(_name)
del importlib, _name
"""


class _Kernels:
    """``jobs`` kernels started at once (IPC transport: Unix sockets, no TCP port, no warning),
    each running notebooks one after another from a shared queue.

    ``start()`` launches them (each imports the toolkit while the caller prepares the data);
    ``run(items, done)`` hands them the notebooks; ``stop()`` shuts down any still running.
    """

    def __init__(self, jobs: int, folder: Path, env: dict, cwd: Path, timeout: int = 600):
        self.jobs, self.folder, self.env, self.cwd, self.timeout = jobs, folder, env, cwd, timeout
        self.kernel_start = 0.0  # the slowest kernel, launch to imports done
        self._tasks: list[asyncio.Future] = []

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._queue: asyncio.Future = loop.create_future()
        self._tasks = [asyncio.ensure_future(self._worker(n)) for n in range(self.jobs)]

    async def _launch(self, n: int):
        from jupyter_client.manager import AsyncKernelManager

        t0 = time.perf_counter()
        km = AsyncKernelManager(kernel_name="python3", transport="ipc")
        km.connection_file = str(self.folder / f"kernel-{n}.json")
        km.ip = str(self.folder / f"kernel-{n}")
        kc = None
        try:
            await km.start_kernel(env=self.env, cwd=str(self.cwd))
            kc = km.client()
            kc.start_channels()
            await kc.wait_for_ready(timeout=120)
            await self._quietly(kc, _WARM_UP, "import the toolkit in a kernel")
        except BaseException:
            await asyncio.shield(self._stop(km, kc))
            raise
        self.kernel_start = max(self.kernel_start, time.perf_counter() - t0)
        return km, kc

    @staticmethod
    async def _quietly(kc, code: str, what: str) -> None:
        reply = await kc.execute_interactive(
            code, silent=True, timeout=120, output_hook=lambda msg: None
        )
        if reply["content"]["status"] != "ok":
            content = reply["content"]
            raise ReportError(f"could not {what}: {content.get('ename')}: {content.get('evalue')}")

    @staticmethod
    async def _stop(km, kc) -> None:
        if kc is not None:
            kc.stop_channels()
        if km.has_kernel:
            await km.shutdown_kernel(now=True)

    async def _worker(self, n: int) -> None:
        km, kc = await self._launch(n)
        try:
            queue, done = await asyncio.shield(self._queue)
            while queue:
                path, nb = queue.pop(0)
                # a fresh namespace for every notebook (modules stay imported)
                await self._quietly(kc, _RESET, "reset a kernel between notebooks")
                t0 = time.perf_counter()
                await self._execute(km, kc, path, nb)
                await done(_Run(path, nb, time.perf_counter() - t0))
        finally:
            await asyncio.shield(self._stop(km, kc))

    async def run(self, items: list[tuple[Path, object]], done) -> None:
        """Execute each ``(path, notebook)``; ``done(_Run)`` is awaited as each one finishes."""
        self._queue.set_result((list(items), done))
        try:
            await asyncio.gather(*self._tasks)
        finally:  # one notebook failed: stop the other kernels too
            await self.stop()

    async def stop(self) -> None:
        """Shut every kernel down: workers given no notebook finish starting and stop; workers
        still running a notebook (another one failed) are cancelled."""
        if not self._queue.done():
            self._queue.set_result(([], None))
        else:
            for task in self._tasks:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _execute(self, km, kc, path: Path, nb) -> None:
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        client = NotebookClient(
            nb,
            km=km,
            timeout=self.timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.kc = kc  # the worker's kernel and channels, kept for its next notebook
        try:
            await client.async_execute()
        except CellExecutionError as err:
            if err.ename == "DataError":
                raise DataError(f"{path.name}: {err.evalue}") from None
            cell = next(
                (
                    c
                    for c in nb.cells
                    if any(o.get("output_type") == "error" for o in c.get("outputs", []))
                ),
                None,
            )
            where = f"cell {cell.execution_count}" if cell is not None else "a cell"
            raise ReportError(f"{path.name} failed in {where}: {err.ename}: {err.evalue}") from None


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
    execution: float = 0.0  # notebooks, summed over kernels
    export: float = 0.0  # nbconvert to HTML, summed
    checks: float = 0.0  # offline and privacy checks of every page, summed
    total: float = 0.0


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
            # one thread exports and checks pages (nbconvert is not shared across threads)
            # while the kernels go on with the next notebooks
            with ThreadPoolExecutor(max_workers=1) as pool:

                async def done(run: _Run) -> None:
                    timings.execution += run.seconds
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
