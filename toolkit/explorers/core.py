"""One definition, two renderers: the mechanism every explorer is built on.

An :class:`Explorer` is declared once, from three parts:

* its **controls** (:class:`Control`): name, label, range or options, step, default, and whether
  the control is part of the *static grid* (``static=True``);
* a **headless function** ``compute(**values)``: the plain toolkit computation (its headless
  twin), returning a tidy frame or a dict of tidy frames;
* a **figure builder** ``build(results)``: a Bokeh layout made by :mod:`toolkit.plots` from those
  results, never computing anything, whose data sources and text readouts carry a ``name=``.

This module holds the declaration and its headless side; the two renderers live in
:mod:`toolkit.explorers.live` and :mod:`toolkit.explorers.static`. From that single definition
it renders in two ways:

* **live** (JupyterLab, Voila): ipywidgets controls next to the Bokeh layout wrapped in
  ``jupyter_bokeh.BokehModel``. The layout is built once; a control change re-runs the headless
  function and replaces ``ColumnDataSource.data`` (and readout text) in place. No
  ``push_notebook`` (it does nothing under Voila).
* **static** (exported HTML, no kernel): Bokeh ``Slider``/``Select`` widgets and a ``CustomJS``
  callback that looks the result up in a *state grid* precomputed by the same headless function
  over every combination of the static controls' steps (a grid slider offers only the grid's
  values). Where the model is a closed form, a :class:`PageFormula` computes it in the page
  instead, for every value of its controls (:mod:`toolkit.explorers.formulas`, held to the
  Python by tests).

Which renderer a notebook gets is decided at display time from the ``TOOLKIT_RENDERER``
environment variable (``live`` by default, ``static`` under ``python -m toolkit report``), so a
notebook cell never needs editing to export.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RENDERER_ENV = "TOOLKIT_RENDERER"
RENDERERS = ("live", "static")


def renderer() -> str:
    """The renderer explorers use when displayed: ``TOOLKIT_RENDERER`` (``live`` or ``static``)."""
    value = os.environ.get(RENDERER_ENV, "live").strip().lower() or "live"
    if value not in RENDERERS:
        raise ValueError(f"{RENDERER_ENV} must be one of {RENDERERS}, got {value!r}")
    return value


@dataclass(frozen=True)
class Control:
    """One input of an explorer.

    A numeric control has ``start``, ``end`` and ``step``; a choice has ``options`` (values, or
    ``(value, label)`` pairs). ``static`` says whether the control is part of the static grid:
    controls that are not stay at the value the notebook set when the page is exported.
    ``static_values`` overrides the grid's steps (coarser than the live slider's step).
    """

    name: str
    label: str
    default: Any
    start: float | None = None
    end: float | None = None
    step: float | None = None
    options: tuple = ()
    static: bool = True
    static_values: tuple | None = None
    integer: bool = False
    fmt: str = "0[.]00"

    def __post_init__(self):
        if self.options:
            if self.default not in self.values:
                raise ValueError(
                    f"control {self.name!r}: default {self.default!r} is not an option"
                )
        elif None in (self.start, self.end, self.step):
            raise ValueError(f"control {self.name!r} needs options or start, end and step")
        elif not self.start <= self.default <= self.end:
            raise ValueError(
                f"control {self.name!r}: default {self.default} outside [{self.start}, {self.end}]"
            )

    @property
    def is_choice(self) -> bool:
        return bool(self.options)

    @property
    def values(self) -> tuple:
        """Every value the control can take in the live renderer (choices only)."""
        return tuple(o[0] if isinstance(o, tuple) else o for o in self.options)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(str(o[1] if isinstance(o, tuple) else o) for o in self.options)

    def display(self, value) -> str:
        """The value as a reader sees it (an option's label, a rounded number)."""
        if self.is_choice:
            return dict(zip(self.values, self.labels, strict=True)).get(value, str(value))
        if self.fmt.endswith("%"):  # as the slider's numeral.js format shows it: "0.0%", "0.[0]%"
            digits = self.fmt[:-1].partition(".")[2]
            text = f"{value * 100:,.{len(digits.strip('[]'))}f}"
            if "[" in digits and "." in text:
                text = text.rstrip("0").rstrip(".")
            return text + "%"
        return f"{value:,}" if self.integer else f"{value:,.4g}"

    def coerce(self, value):
        if self.is_choice:
            if value not in self.values:
                raise ValueError(f"{self.name} must be one of {self.values}, got {value!r}")
            return value
        value = float(value)
        if not self.start <= value <= self.end:
            raise ValueError(f"{self.name} must lie in [{self.start}, {self.end}], got {value}")
        return int(round(value)) if self.integer else value

    def grid_values(self, current) -> tuple:
        """The steps of the static grid; always contains ``current`` (the notebook's value)."""
        if self.is_choice:
            values = list(self.static_values or self.values)
        elif self.static_values is not None:
            values = list(self.static_values)
        else:
            n = int(round((self.end - self.start) / self.step)) + 1
            values = [self.start + i * self.step for i in range(n)]
        if not self.is_choice:
            values = [self.coerce(round(v, 10)) for v in values]
        if current not in values:
            values.append(current)
            if not self.is_choice:
                values.sort()
        return tuple(values)


@dataclass(frozen=True)
class PageFormula:
    """A closed form the exported page computes itself, for every value of its controls.

    The static renderer gives ``controls`` sliders at their live step (not a grid's) and, after
    any grid lookup, runs ``code``: the body of a JavaScript function of ``values`` (control
    name -> the value shown), ``P`` (``args(values)`` at export: what the formula holds fixed)
    and ``models`` (the page's named Bokeh models), setting the models it computes. The
    formula must equal the headless twin for every setting (the browser tests hold it to
    1e-9); see :mod:`toolkit.explorers.formulas`.

    Attributes
    ----------
    controls : tuple of str
        The controls the page computes for (no grid is precomputed over them).
    code : str
        JavaScript statements (the function body).
    args : callable
        ``args(values) -> dict`` of JSON-able constants, from the explorer's current values.
    replaces : tuple of str
        What the formula computes, so the grid need not carry it: a model name, or
        ``"model.column"`` for one column of a source.
    grid_only : tuple of str
        What only the grid has (Monte Carlo results), and only at the notebook's (or a
        preset's) values of ``controls``: away from those the page blanks it rather than show
        results for other values (a source emptied, a column set to NaN, the first text
        replaced by ``off_grid`` and the values it needs, the other texts emptied).
    off_grid : str
        What the page says when it blanks ``grid_only`` (plain text).
    """

    controls: tuple[str, ...]
    code: str
    args: Callable[[Mapping[str, Any]], dict]
    replaces: tuple[str, ...] = ()
    grid_only: tuple[str, ...] = ()
    off_grid: str = ""


@dataclass(frozen=True)
class Preset:
    """A named setting of some controls (a button in both renderers)."""

    label: str
    values: Mapping[str, Any]


def model_state(layout) -> dict[str, dict[str, Any]]:
    """What a control change may alter in a built layout.

    Parameters
    ----------
    layout : bokeh layout
        A figure or layout built by an explorer's ``build``.

    Returns
    -------
    dict
        ``{model name: {property: value}}``: each named source's ``data`` (numpy arrays), each
        named text readout's ``text`` and each named factor range's ``factors``.
    """
    from bokeh.models import ColumnDataSource, FactorRange, Markup, Title

    state: dict[str, dict[str, Any]] = {}
    for model in layout.references():
        if not model.name:
            continue
        if isinstance(model, ColumnDataSource):
            state[model.name] = {"data": {k: np.asarray(v) for k, v in model.data.items()}}
        elif isinstance(model, (Markup, Title)):
            state[model.name] = {"text": model.text}
        elif isinstance(model, FactorRange):
            state[model.name] = {"factors": list(model.factors)}
    return state


def _stretch(layout):
    """Rows and columns without a size of their own take the page's width, so that
    stretch-width figures inside them do not collapse to nothing."""
    from bokeh.models import Column, GridBox, Row

    for model in layout.references():
        if (
            isinstance(model, (Row, Column, GridBox))
            and model.sizing_mode is None
            and model.width is None
        ):
            model.sizing_mode = "stretch_width"
    return layout


def _conform(state: dict, base: dict) -> dict:
    """``state`` restricted to the models of the displayed layout (``base``); a model the new
    state lacks (a line drawn only in some cases) is emptied rather than left stale."""
    out = {}
    for name, props in base.items():
        if name in state:
            out[name] = {prop: state[name][prop] for prop in props if prop in state[name]}
        elif "data" in props:
            out[name] = {"data": {col: np.asarray(arr)[:0] for col, arr in props["data"].items()}}
        elif "text" in props:
            out[name] = {"text": ""}
    return out


class Explorer:
    """A what-if app bound to a headless computation and a figure builder.

    Parameters
    ----------
    name : str
        Prefix of every Bokeh model name (so browser tests can find them).
    title : str
        Shown above the controls.
    controls : list of Control
        The inputs. Their current values start at each control's default; pass ``values`` to
        start elsewhere.
    compute : callable
        ``compute(**values) -> results``: the headless twin (data already bound).
    build : callable
        ``build(results) -> bokeh layout``: plots only, from :mod:`toolkit.plots`.
    presets : list of Preset, optional
        Buttons that set several controls at once.
    state : callable, optional
        ``state(results) -> {model name: {property: value}}``: a faster way to get what changes
        than building a figure and reading it back (the default).
    note : str, optional
        Plain text shown under the controls.
    page : PageFormula, optional
        A closed form the exported page computes for every value of its controls (instead of
        looking results up in a grid computed in advance).
    """

    def __init__(
        self,
        name: str,
        title: str,
        controls: Sequence[Control],
        compute: Callable[..., Any],
        build: Callable[[Any], Any],
        *,
        presets: Sequence[Preset] = (),
        values: Mapping[str, Any] | None = None,
        state: Callable[[Any], dict] | None = None,
        note: str = "",
        page: PageFormula | None = None,
    ):
        self.name = name
        self.title = title
        self.controls = list(controls)
        self.compute = compute
        self.build = build
        self.presets = list(presets)
        self.note = note
        self._state = state
        self.page = page
        names = [c.name for c in self.controls]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate control names in {names}")
        self.values = {c.name: c.default for c in self.controls}
        for preset in self.presets:
            self._check(preset.values)
        if page is not None:
            self._check({n: self.values[n] for n in page.controls})
        if values:
            self.values.update(self._check(values))

    # -- the headless side ------------------------------------------------------------------
    def _check(self, values: Mapping[str, Any]) -> dict[str, Any]:
        by_name = {c.name: c for c in self.controls}
        unknown = set(values) - set(by_name)
        if unknown:
            raise ValueError(
                f"unknown control(s) {sorted(unknown)}; controls are {sorted(by_name)}"
            )
        return {k: by_name[k].coerce(v) for k, v in values.items()}

    def results(self, **values):
        """The headless result at the current values, overridden by ``values``."""
        return self.compute(**{**self.values, **self._check(values)})

    def set(self, **values) -> Explorer:
        """Change the current values (what the renderers start from); returns self."""
        self.values.update(self._check(values))
        return self

    @property
    def grid_controls(self) -> list[Control]:
        """The controls the exported page steps through a precomputed grid (static, and not
        computed by the page's formula)."""
        computed = set(self.page.controls) if self.page else set()
        return [c for c in self.controls if c.static and c.name not in computed]

    @property
    def page_controls(self) -> list[Control]:
        """The controls the exported page's formula computes for, at their live step."""
        computed = set(self.page.controls) if self.page else set()
        return [c for c in self.controls if c.name in computed]

    def state(self, results) -> dict[str, dict[str, Any]]:
        if self._state is not None:
            return self._state(results)
        return model_state(self.build(results))

    # -- the renderers (toolkit.explorers.static and .live) ----------------------------------
    def static_grid(self):
        """Run the headless function over every combination of the static controls' steps
        (:func:`toolkit.explorers.static.static_grid`)."""
        from toolkit.explorers.static import static_grid

        return static_grid(self)

    def static_layout(self):
        """The exported form: Bokeh widgets and a CustomJS lookup into the state grid
        (:func:`toolkit.explorers.static.static_layout`)."""
        from toolkit.explorers.static import static_layout

        return static_layout(self)

    def static_html(self, title: str | None = None) -> str:
        """A standalone HTML page with BokehJS inlined: works offline, no kernel."""
        from toolkit.explorers.static import static_html

        return static_html(self, title)

    def widget(self):
        """The live form: ipywidgets controls and the Bokeh layout in a ``BokehModel``
        (:func:`toolkit.explorers.live.widget`)."""
        from toolkit.explorers.live import widget

        return widget(self)

    # -- display ----------------------------------------------------------------------------
    def show(self, renderer_name: str | None = None):
        """Display in a notebook with the given renderer (default: :func:`renderer`)."""
        from IPython.display import display

        chosen = renderer_name or renderer()
        if chosen not in RENDERERS:
            raise ValueError(f"renderer must be one of {RENDERERS}, got {chosen!r}")
        if chosen == "live":
            display(self.widget())
            return
        from bokeh.io import output_notebook, show
        from bokeh.io.state import curstate
        from bokeh.resources import INLINE

        if not curstate().notebook:
            output_notebook(resources=INLINE, hide_banner=True)
        show(self.static_layout())

    def _ipython_display_(self):
        self.show()

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"<{type(self).__name__} {self.name}: {vals}>"
