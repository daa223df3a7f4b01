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

from toolkit.report.build import (
    ANSWERS,
    NOTEBOOKS_DIR,
    Page,
    Timings,
    as_of_in_words,
    build_report,
    check_page,
    find_notebooks,
    main,
    script_safe,
)
from toolkit.report.kernels import ReportError
from toolkit.report.privacy import MIN_PERSONAL_CHARS, PrivacyCheck, prepare_data

__all__ = [
    "ANSWERS",
    "MIN_PERSONAL_CHARS",
    "NOTEBOOKS_DIR",
    "Page",
    "PrivacyCheck",
    "ReportError",
    "Timings",
    "as_of_in_words",
    "build_report",
    "check_page",
    "find_notebooks",
    "main",
    "prepare_data",
    "script_safe",
]
