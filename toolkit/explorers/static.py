"""The static renderer: an explorer as a page that works without a kernel.

Bokeh ``Slider``/``Select`` widgets and one ``CustomJS`` callback look each result up in a
*state grid* precomputed by the explorer's headless function over every combination of the
static controls' steps (:class:`StaticGrid`), packed as a few flat arrays. No model is rewritten
in JavaScript.
"""

from __future__ import annotations

import html
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from toolkit.explorers.core import Control, Explorer, _conform, _stretch

# A static grid larger than this many states is refused (it would not stay near 2 MB anyway).
MAX_STATES = 2_000


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


def static_grid(explorer: Explorer) -> StaticGrid:
    """Run the headless function over every combination of the static controls' steps."""
    t0 = time.perf_counter()
    static = [c for c in explorer.controls if c.static]
    steps = [c.grid_values(explorer.values[c.name]) for c in static]
    n_states = int(np.prod([len(s) for s in steps])) if steps else 1
    if n_states > MAX_STATES:
        raise ValueError(
            f"{explorer.name}: the static grid would hold {n_states} states (> {MAX_STATES}); "
            "give its controls coarser static_values or mark some static=False"
        )
    base = explorer.state(explorer.results())  # what the page shows first: the models that exist
    raw: dict[str, dict] = {}
    for indices in itertools.product(*[range(len(s)) for s in steps]):
        values = {c.name: s[i] for c, s, i in zip(static, steps, indices, strict=True)}
        raw[StaticGrid.key(indices)] = _conform(explorer.state(explorer.results(**values)), base)
    presets = {
        p.label: _conform(explorer.state(explorer.results(**p.values)), base)
        for p in explorer.presets
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


def static_layout(explorer: Explorer):
    """The exported form: Bokeh widgets and a CustomJS lookup into the state grid."""
    from bokeh.layouts import column, row
    from bokeh.models import Button, CustomJS, Div, Select, Slider

    grid = explorer.static_grid()
    layout = _stretch(explorer.build(explorer.results()))
    models = {m.name: m for m in layout.references() if m.name}
    widgets = []
    for control, steps in zip(grid.controls, grid.steps, strict=True):
        value = explorer.values[control.name]
        wname = f"{explorer.name}_{control.name}"
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
    fixed = [c for c in explorer.controls if not c.static]
    grid_note = "In this exported page the sliders step through results computed in advance." + (
        " Held at the notebook's values: "
        + "; ".join(f"{c.label} {c.display(explorer.values[c.name])}" for c in fixed)
        + "."
        if fixed
        else ""
    )
    note = Div(text=html.escape(grid_note), name=f"{explorer.name}_static_note")
    preset_positions, preset_notes = {}, {}
    for p in explorer.presets:
        pos = []
        for c, s in zip(grid.controls, grid.steps, strict=True):
            v = p.values.get(c.name, explorer.values[c.name])
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
    for p in explorer.presets:
        b = Button(label=p.label, name=f"{explorer.name}_preset_{len(buttons)}", width=180)
        b.js_on_event("button_click", callback)
        buttons.append(b)
    header = Div(text=f"<b>{html.escape(explorer.title)}</b>", name=f"{explorer.name}_title")
    parts = [header, row(*widgets, sizing_mode="stretch_width")]
    if buttons:
        parts.append(row(*buttons))
    parts += [note, layout]
    return column(*parts, sizing_mode="stretch_width", name=f"{explorer.name}_static")


def static_html(explorer: Explorer, title: str | None = None) -> str:
    """A standalone HTML page with BokehJS inlined: works offline, no kernel."""
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    return file_html(explorer.static_layout(), INLINE, title=title or explorer.title)


def _lengths_vary(name: str, states: list[dict]) -> bool:
    lengths = {len(next(iter(s[name]["data"].values()), ())) for s in states}
    return len(lengths) > 1
