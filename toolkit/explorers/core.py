"""One definition, two renderers: the mechanism every explorer is built on.

An :class:`Explorer` is declared once, from three parts:

* its **controls** (:class:`Control`): name, label, range or options, step, default, and whether
  the control is part of the *static grid* (``static=True``);
* a **headless function** ``compute(**values)``: the plain toolkit computation (its headless
  twin), returning a tidy frame or a dict of tidy frames;
* a **figure builder** ``build(results)``: a Bokeh layout made by :mod:`toolkit.plots` from those
  results, never computing anything, whose data sources and text readouts carry a ``name=``.

From that single definition it renders in two ways:

* **live** (JupyterLab, Voila): ipywidgets controls next to the Bokeh layout wrapped in
  ``jupyter_bokeh.BokehModel``. The layout is built once; a control change re-runs the headless
  function and replaces ``ColumnDataSource.data`` (and readout text) in place. No
  ``push_notebook`` (it does nothing under Voila).
* **static** (exported HTML, no kernel): Bokeh ``Slider``/``Select`` widgets and a ``CustomJS``
  callback that looks the result up in a *state grid* precomputed by the same headless function
  over every combination of the static controls' steps. No model is rewritten in JavaScript.

Which renderer a notebook gets is decided at display time from the ``TOOLKIT_RENDERER``
environment variable (``live`` by default, ``static`` under ``python -m toolkit report``), so a
notebook cell never needs editing to export.
"""

from __future__ import annotations

import html
import itertools
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RENDERER_ENV = "TOOLKIT_RENDERER"
RENDERERS = ("live", "static")
# A static grid larger than this many states is refused (it would not stay near 2 MB anyway).
MAX_STATES = 2_000


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
class Preset:
    """A named setting of some controls (a button in both renderers)."""

    label: str
    values: Mapping[str, Any]


@dataclass
class StaticGrid:
    """Precomputed states: ``states[key]`` maps model name to the properties that vary."""

    controls: list[Control]
    steps: list[tuple]
    states: dict[str, dict[str, dict[str, Any]]]
    presets: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    seconds: float = 0.0

    @staticmethod
    def key(indices: Sequence[int]) -> str:
        return "_".join(str(i) for i in indices)

    def pack(self) -> dict[str, Any]:
        """The grid as the page carries it: per varying column, one flat array over all states
        and their offsets (a few base64 blobs instead of thousands of small arrays)."""
        keys = [*self.states, *(f"preset:{name}" for name in self.presets)]
        states = [*self.states.values(), *self.presets.values()]
        entries: list[dict[str, Any]] = []
        for name, props in states[0].items():
            for prop, value in props.items():
                if prop != "data":
                    entries.append(
                        {"model": name, "prop": prop, "values": [s[name][prop] for s in states]}
                    )
                    continue
                for col in value:
                    arrays = [s[name]["data"][col] for s in states]
                    entry: dict[str, Any] = {"model": name, "prop": "data", "col": col}
                    if all(isinstance(a, np.ndarray) and a.dtype.kind in "fiu" for a in arrays):
                        lengths = [len(a) for a in arrays]
                        entry["flat"] = np.concatenate(arrays)
                        entry["offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(
                            np.int32
                        )
                    else:
                        entry["values"] = [
                            list(a) if isinstance(a, np.ndarray) else a for a in arrays
                        ]
                    entries.append(entry)
        return {"index": {k: i for i, k in enumerate(keys)}, "entries": entries}


def _model_state(layout) -> dict[str, dict[str, Any]]:
    """What a control change may alter in a built layout: each named source's data, each named
    text readout's text and each named factor range's factors."""
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


def _position(steps: tuple, value) -> int:
    """Index of ``value`` among ``steps`` (numbers within rounding), -1 if absent."""
    for i, step in enumerate(steps):
        if step == value or (
            isinstance(step, (int, float))
            and isinstance(value, (int, float))
            and math.isclose(step, value, rel_tol=1e-9)
        ):
            return i
    return -1


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


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
            return False
        if a.dtype.kind == "f":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    return a == b


def _compact(value):
    """Arrays as small as they can be and still plot the same: float32 floats, int32 ints."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return value.astype(np.float32)
        if value.dtype.kind in "iu" and (value.size == 0 or np.abs(value).max() < 2**31):
            return value.astype(np.int32)
        if value.dtype.kind == "M":
            return (value.astype("datetime64[ms]").astype(np.int64)).astype(np.float64)
        if value.dtype.kind == "b":
            return value.astype(np.int8)
        return value.astype(object).tolist()
    return value


_STATIC_JS = """
const get = (m, k) => (m instanceof Map ? m.get(k) : m[k]);
const entries = (m) => (m instanceof Map ? [...m.entries()] : Object.entries(m));
function nearest(vals, v) {
  let best = 0, dist = Infinity;
  for (let i = 0; i < vals.length; i++) {
    const d = typeof v === "number" ? Math.abs(vals[i] - v) : (vals[i] === v ? 0 : Infinity);
    if (d < dist) { dist = d; best = i; }
  }
  return best;
}
function apply(key) {
  const s = get(grid_index, key);
  if (s === undefined) return;
  const pending = new Map();
  for (const e of grid_entries) {
    const model = get(models, get(e, "model"));
    const flat = get(e, "flat");
    let value;
    if (flat !== undefined) {
      const off = get(e, "offsets");
      // Bokeh's NDArray breaks subarray/slice (species constructor): copy by hand
      value = Array.prototype.slice.call(flat, off[s], off[s + 1]);
    } else {
      value = get(e, "values")[s];
    }
    if (get(e, "prop") === "data") {
      if (!pending.has(model)) pending.set(model, Object.assign({}, model.data));
      pending.get(model)[get(e, "col")] = value;
    } else {
      model[get(e, "prop")] = value;
    }
  }
  for (const [model, data] of pending) model.data = data;
}
// CustomJS callbacks run asynchronously, so the slider callbacks that a preset button sets off
// may run after it: the preset "owns" its grid key (kept in note.tags) until a slider leaves it.
const key = () => widgets.map((w, i) => nearest(steps[i], w.value)).join("_");
// one callback serves every control (so the page carries the grid once): a preset button's
// click event names its button as origin; a control's change has no origin
const preset = cb_obj.origin ? cb_obj.origin.label : null;
if (preset !== null) {
  const pos = get(preset_positions, preset);
  for (let i = 0; i < widgets.length; i++) {
    if (pos[i] >= 0) widgets[i].value = steps[i][pos[i]];
  }
  note.tags = [key(), preset];
  apply("preset:" + preset);
  note.text = get(preset_notes, preset);
} else {
  const k = key();
  const owner = note.tags;
  if (owner.length === 2 && owner[0] === k) {
    apply("preset:" + owner[1]);
    note.text = get(preset_notes, owner[1]);
  } else {
    note.tags = [];
    apply(k);
    note.text = grid_note;
  }
}
"""


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
    ):
        self.name = name
        self.title = title
        self.controls = list(controls)
        self.compute = compute
        self.build = build
        self.presets = list(presets)
        self.note = note
        self._state = state
        names = [c.name for c in self.controls]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate control names in {names}")
        self.values = {c.name: c.default for c in self.controls}
        for preset in self.presets:
            self._check(preset.values)
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

    def state(self, results) -> dict[str, dict[str, Any]]:
        if self._state is not None:
            return self._state(results)
        return _model_state(self.build(results))

    # -- the static renderer ----------------------------------------------------------------
    def static_grid(self) -> StaticGrid:
        """Run the headless function over every combination of the static controls' steps."""
        t0 = time.perf_counter()
        static = [c for c in self.controls if c.static]
        steps = [c.grid_values(self.values[c.name]) for c in static]
        n_states = int(np.prod([len(s) for s in steps])) if steps else 1
        if n_states > MAX_STATES:
            raise ValueError(
                f"{self.name}: the static grid would hold {n_states} states (> {MAX_STATES}); "
                "give its controls coarser static_values or mark some static=False"
            )
        base = self.state(self.results())  # what the page shows first: the models that exist
        raw: dict[str, dict] = {}
        for indices in itertools.product(*[range(len(s)) for s in steps]):
            values = {c.name: s[i] for c, s, i in zip(static, steps, indices, strict=True)}
            raw[StaticGrid.key(indices)] = _conform(self.state(self.results(**values)), base)
        presets = {
            p.label: _conform(self.state(self.results(**p.values)), base) for p in self.presets
        }
        # Drop what never changes: it is already in the page, in the initial figure.
        everything = [*raw.values(), *presets.values()]
        props_vary: dict[str, set[str]] = {}
        cols_vary: dict[str, set[str]] = {}
        for name, props in everything[0].items():
            for prop, value in props.items():
                if prop != "data":
                    if any(not _same(value, s[name][prop]) for s in everything):
                        props_vary.setdefault(name, set()).add(prop)
                    continue
                if _lengths_vary(name, everything):
                    cols = set(value)  # columns that change length travel together
                else:
                    cols = {
                        col
                        for col, arr in value.items()
                        if any(not _same(arr, s[name]["data"].get(col)) for s in everything)
                    }
                if cols:
                    props_vary.setdefault(name, set()).add("data")
                    cols_vary[name] = cols

        def shrink(state):
            out = {}
            for name, props in props_vary.items():
                entry = {}
                for prop in props:
                    if prop == "data":
                        data = state[name]["data"]
                        entry["data"] = {c: _compact(data[c]) for c in sorted(cols_vary[name])}
                    else:
                        entry[prop] = state[name][prop]
                out[name] = entry
            return out

        return StaticGrid(
            controls=static,
            steps=steps,
            states={k: shrink(v) for k, v in raw.items()},
            presets={k: shrink(v) for k, v in presets.items()},
            seconds=time.perf_counter() - t0,
        )

    def static_layout(self):
        """The exported form: Bokeh widgets and a CustomJS lookup into the state grid."""
        from bokeh.layouts import column, row
        from bokeh.models import Button, CustomJS, Div, Select, Slider

        grid = self.static_grid()
        layout = _stretch(self.build(self.results()))
        models = {m.name: m for m in layout.references() if m.name}
        widgets = []
        for control, steps in zip(grid.controls, grid.steps, strict=True):
            value = self.values[control.name]
            wname = f"{self.name}_{control.name}"
            if control.is_choice:
                labels = dict(zip(control.values, control.labels, strict=True))
                options = [(str(v), labels.get(v, str(v))) for v in steps]
                widgets.append(
                    Select(title=control.label, value=str(value), options=options, name=wname)
                )
            else:
                step = (steps[1] - steps[0]) if len(steps) > 1 else (control.step or 1)
                widgets.append(
                    Slider(
                        title=control.label,
                        start=steps[0],
                        end=steps[-1],
                        value=value,
                        step=step,
                        format=control.fmt,
                        name=wname,
                    )
                )
        js_steps = [
            [str(v) for v in s] if c.is_choice else [float(v) for v in s]
            for c, s in zip(grid.controls, grid.steps, strict=True)
        ]
        fixed = [c for c in self.controls if not c.static]
        grid_note = (
            "In this exported page the sliders step through results computed in advance."
            + (
                " Held at the notebook's values: "
                + "; ".join(f"{c.label} {c.display(self.values[c.name])}" for c in fixed)
                + "."
                if fixed
                else ""
            )
        )
        note = Div(text=html.escape(grid_note), name=f"{self.name}_static_note")
        preset_positions, preset_notes = {}, {}
        for p in self.presets:
            pos = []
            for c, s in zip(grid.controls, grid.steps, strict=True):
                v = p.values.get(c.name, self.values[c.name])
                pos.append(_position(s, v))
            preset_positions[p.label] = pos
            preset_notes[p.label] = html.escape(f"Preset: {p.label}.")
        packed = grid.pack()
        args = dict(
            models=models,
            widgets=widgets,
            steps=js_steps,
            grid_index=packed["index"],
            grid_entries=packed["entries"],
            preset_positions=preset_positions,
            preset_notes=preset_notes,
            grid_note=html.escape(grid_note),
            note=note,
        )
        callback = CustomJS(args=args, code=_STATIC_JS)
        for w in widgets:
            w.js_on_change("value", callback)
        buttons = []
        for p in self.presets:
            b = Button(label=p.label, name=f"{self.name}_preset_{len(buttons)}", width=180)
            b.js_on_event("button_click", callback)
            buttons.append(b)
        header = Div(text=f"<b>{html.escape(self.title)}</b>", name=f"{self.name}_title")
        parts = [header, row(*widgets, sizing_mode="stretch_width")]
        if buttons:
            parts.append(row(*buttons))
        parts += [note, layout]
        return column(*parts, sizing_mode="stretch_width", name=f"{self.name}_static")

    def static_html(self, title: str | None = None) -> str:
        """A standalone HTML page with BokehJS inlined: works offline, no kernel."""
        from bokeh.embed import file_html
        from bokeh.resources import INLINE

        return file_html(self.static_layout(), INLINE, title=title or self.title)

    # -- the live renderer ------------------------------------------------------------------
    def widget(self):
        """The live form: ipywidgets controls and the Bokeh layout in a ``BokehModel``."""
        import ipywidgets as w
        from jupyter_bokeh import BokehModel

        first = self.results()
        layout = _stretch(self.build(first))
        models = {m.name: m for m in layout.references() if m.name}
        base = {name: props for name, props in self.state(first).items() if name in models}
        status = w.HTML(value="", layout=w.Layout(min_height="1.5em"))
        inputs: dict[str, Any] = {}
        style = {"description_width": "initial"}
        for c in self.controls:
            if c.is_choice:
                inputs[c.name] = w.Dropdown(
                    options=list(zip(c.labels, c.values, strict=True)),
                    value=self.values[c.name],
                    description=c.label,
                    style=style,
                )
            else:
                cls = w.IntSlider if c.integer else w.FloatSlider
                inputs[c.name] = cls(
                    value=self.values[c.name],
                    min=c.start,
                    max=c.end,
                    step=c.step,
                    description=c.label,
                    continuous_update=False,
                    style=style,
                    layout=w.Layout(width="420px"),
                )
        busy = {"hold": False}

        def refresh(_change=None):
            if busy["hold"]:
                return
            values = {k: widget.value for k, widget in inputs.items()}
            try:
                state = self.state(self.results(**values))
            except ValueError as err:  # an impossible combination: say so, keep the last plot
                status.value = f"<span style='color:#b30000'>{html.escape(str(err))}</span>"
                return
            status.value = ""
            self.values.update(self._check(values))
            doc = layout.document
            if doc is not None:
                doc.hold("combine")  # one patch message to the browser, not one per property
            try:
                for name, props in _conform(state, base).items():
                    model = models[name]
                    for prop, value in props.items():
                        setattr(model, prop, value)
            finally:
                if doc is not None:
                    doc.unhold()

        for widget in inputs.values():
            widget.observe(refresh, names="value")

        def preset_handler(preset):
            def on_click(_button):
                busy["hold"] = True
                try:
                    for k, v in preset.values.items():
                        inputs[k].value = v
                finally:
                    busy["hold"] = False
                refresh()

            return on_click

        buttons = []
        for p in self.presets:
            b = w.Button(description=p.label, layout=w.Layout(width="auto"))
            b.on_click(preset_handler(p))
            buttons.append(b)
        parts = [w.HTML(f"<b>{html.escape(self.title)}</b>")]
        parts.append(w.HBox(list(inputs.values()), layout=w.Layout(flex_flow="row wrap")))
        if buttons:
            parts.append(w.HBox(buttons, layout=w.Layout(flex_flow="row wrap")))
        if self.note:
            parts.append(w.HTML(f"<small>{html.escape(self.note)}</small>"))
        parts += [status, BokehModel(layout)]
        box = w.VBox(parts)
        # handles for tests and the latency benchmark
        box.inputs, box.models, box.refresh = inputs, models, refresh
        return box

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


def _lengths_vary(name: str, states: list[dict]) -> bool:
    lengths = {len(next(iter(s[name]["data"].values()), ())) for s in states}
    return len(lengths) > 1
