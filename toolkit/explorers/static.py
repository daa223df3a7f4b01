"""The static renderer: an explorer as a page that works without a kernel.

Bokeh ``Slider``/``Select`` widgets and one ``CustomJS`` callback look each result up in a
*state grid* precomputed by the explorer's headless function over every combination of the
static controls' steps (:class:`StaticGrid`), packed as a few flat arrays. A grid slider offers
only the grid's values (its step is the grid's step; an uneven grid is stepped by position, its
value shown by a formatter), so it never shows a value the page has no result for. Where the
model is a closed form, the explorer's :class:`~toolkit.explorers.core.PageFormula` computes it
in the page for every value of its controls, after the lookup.
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
                        lists = [list(a) if isinstance(a, np.ndarray) else a for a in arrays]
                        if _all_text(lists):
                            # cell labels repeat ("75%"): each distinct text once, then codes
                            vocab = sorted({v for part in lists for v in part})
                            code = {v: i for i, v in enumerate(vocab)}
                            entry["codes"] = np.array(
                                [code[v] for part in lists for v in part], dtype=np.int32
                            )
                            entry["offsets"] = np.concatenate(
                                [[0], np.cumsum([len(part) for part in lists])]
                            ).astype(np.int32)
                            entry["dictionary"] = vocab
                        else:
                            entry["values"] = lists
                    entries.append(entry)
        return {"index": {k: i for i, k in enumerate(keys)}, "entries": entries}


def _all_text(lists) -> bool:
    return all(isinstance(part, list) for part in lists) and all(
        isinstance(v, str) for part in lists for v in part
    )


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
const plain = (v) => v instanceof Map
  ? Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]))
  : Array.isArray(v) ? v.map(plain) : v;
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
    const codes = get(e, "codes");
    let value;
    if (codes !== undefined) {
      const off = get(e, "offsets"), words = get(e, "dictionary");
      value = [];
      for (let j = off[s]; j < off[s + 1]; j++) value.push(words[codes[j]]);
    } else if (flat !== undefined) {
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
const position = (i) =>
  indexed[i] ? Math.round(widgets[i].value) : nearest(steps[i], widgets[i].value);
const key = () => widgets.map((w, i) => position(i)).join("_");
// one callback serves every control (so the page carries the grid once): a preset button's
// click event names its button as origin; a control's change has no origin
const preset = cb_obj.origin ? cb_obj.origin.label : null;
// a state holds Monte Carlo results only at the page controls' values it was computed for
const same = (a, b) => String(a) === String(b) || Math.abs(Number(a) - Number(b)) <=
  1e-9 * Math.max(1, Math.abs(Number(b)));
const matches = (held) => page_widgets.every((w, i) => same(w.value, held[i]));
let held = "";  // whose values of the page controls the state shown holds ("": the notebook's)
if (preset !== null) {
  const pos = get(preset_positions, preset);
  for (let i = 0; i < widgets.length; i++) {
    if (pos[i] >= 0) widgets[i].value = indexed[i] ? pos[i] : steps[i][pos[i]];
  }
  get(preset_page, preset).forEach((v, i) => { page_widgets[i].value = v; });
  note.tags = [key(), preset];
  apply("preset:" + preset);
  note.text = get(preset_notes, preset);
  held = preset;
} else {
  const k = key();
  if (note.tags.length === 2 && note.tags[0] !== k) note.tags = [];  // a grid slider left it
  if (note.tags.length === 2) {
    held = note.tags[1];
    apply("preset:" + held);
    note.text = get(preset_notes, held);
  } else {
    apply(k);
    note.text = grid_note;
  }
}
if (has_formula) {
  const values = {};
  widgets.forEach((w, i) => { values[widget_controls[i]] = steps[i][position(i)]; });
  page_widgets.forEach((w, i) => {
    const choice = get(page_choices, page_controls[i]);
    values[page_controls[i]] = choice === undefined ? w.value : get(choice, w.value);
  });
  page_formula(values, page_args, models);
}
if (grid_only.length && !matches(held === "" ? base_page : get(preset_page, held))) {
  // away from the values the grid was run at: say so, rather than show other values' results
  let said = false;
  for (const [name, col] of grid_only) {
    const model = get(models, name);
    if (model === undefined) continue;
    if (model.data !== undefined) {
      const data = Object.assign({}, model.data);
      for (const c of Object.keys(data)) {
        if (!col) data[c] = [];
        else if (c === col) data[c] = Array.from(data[c], () => NaN);
      }
      model.data = data;
    } else {
      model.text = said ? "" : get(off_grid_notes, held);
      said = true;
    }
  }
}
"""


def static_grid(explorer: Explorer) -> StaticGrid:
    """Run the headless function over every combination of the static controls' steps."""
    t0 = time.perf_counter()
    static = explorer.grid_controls
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

    # what the page's formula computes need not travel in the grid
    for item in explorer.page.replaces if explorer.page else ():
        name, _, col = item.partition(".")
        if not col:
            props_vary.pop(name, None)
            cols_vary.pop(name, None)
        elif name in cols_vary:
            cols_vary[name].discard(col)
            if not cols_vary[name]:
                props_vary[name].discard("data")
                if not props_vary[name]:
                    props_vary.pop(name)

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
    from bokeh.models import Button, CustomJS, Div

    grid = explorer.static_grid()
    layout = _stretch(explorer.build(explorer.results()))
    models = {m.name: m for m in layout.references() if m.name}
    widgets, indexed = [], []
    for control, steps in zip(grid.controls, grid.steps, strict=True):
        widgets.append(_grid_widget(explorer, control, steps))
        indexed.append(widgets[-1].tags == ["indexed"])
    page_widgets = [_page_widget(explorer, c) for c in explorer.page_controls]
    js_steps = [
        [str(v) for v in s] if c.is_choice else [float(v) for v in s]
        for c, s in zip(grid.controls, grid.steps, strict=True)
    ]
    shown = {c.name for c in [*grid.controls, *explorer.page_controls]}
    fixed = [c for c in explorer.controls if c.name not in shown]
    if not grid.controls:
        lead = "In this exported page every result is computed as you move a control."
    elif explorer.page_controls:
        lead = (
            "In this exported page some controls step through results computed in advance "
            "(they offer only those values); the others are computed as you move them."
        )
    else:
        lead = (
            "In this exported page the controls step through results computed in advance "
            "(they offer only those values)."
        )
    grid_note = lead + (
        " Held at the notebook's values: "
        + "; ".join(f"{c.label} {c.display(explorer.values[c.name])}" for c in fixed)
        + "."
        if fixed
        else ""
    )
    note = Div(text=html.escape(grid_note), name=f"{explorer.name}_static_note")
    preset_positions, preset_notes, preset_page = {}, {}, {}
    for p in explorer.presets:
        pos = []
        for c, s in zip(grid.controls, grid.steps, strict=True):
            v = p.values.get(c.name, explorer.values[c.name])
            pos.append(_position(s, v))
        # a preset sets the page's own controls as well
        preset_page[p.label] = [
            str(v) if c.is_choice else v
            for c in explorer.page_controls
            for v in [p.values.get(c.name, explorer.values[c.name])]
        ]
        preset_positions[p.label] = pos
        preset_notes[p.label] = html.escape(f"Preset: {p.label}.")
    base_page = [
        str(explorer.values[c.name]) if c.is_choice else explorer.values[c.name]
        for c in explorer.page_controls
    ]
    packed = grid.pack()
    formula = explorer.page
    args = dict(
        models=models,
        widgets=widgets,
        indexed=indexed,
        widget_controls=[c.name for c in grid.controls],
        page_widgets=page_widgets,
        page_controls=[c.name for c in explorer.page_controls],
        page_choices={
            c.name: {str(v): v for v in c.values} for c in explorer.page_controls if c.is_choice
        },
        page_args=formula.args(dict(explorer.values)) if formula else {},
        has_formula=formula is not None,
        steps=js_steps,
        grid_index=packed["index"],
        grid_entries=packed["entries"],
        preset_positions=preset_positions,
        preset_page=preset_page,
        preset_notes=preset_notes,
        base_page=base_page,
        grid_only=[list(item.partition(".")[::2]) for item in formula.grid_only] if formula else [],
        off_grid_notes=_off_grid_notes(explorer),
        grid_note=html.escape(grid_note),
        note=note,
    )
    code = (
        f"function page_formula(values, P, models) {{\nP = plain(P);\n{formula.code}\n}}\n"
        if formula
        else ""
    ) + _STATIC_JS
    callback = CustomJS(args=args, code=code)
    for w in [*widgets, *page_widgets]:
        w.js_on_change("value", callback)
    buttons = []
    for p in explorer.presets:
        b = Button(label=p.label, name=f"{explorer.name}_preset_{len(buttons)}", width=180)
        b.js_on_event("button_click", callback)
        buttons.append(b)
    header = Div(text=f"<b>{html.escape(explorer.title)}</b>", name=f"{explorer.name}_title")
    inputs = [*widgets, *page_widgets]
    parts = [header]  # four controls a row: more would run off a handout's page
    parts += [
        row(*inputs[i : i + 4], sizing_mode="stretch_width") for i in range(0, len(inputs), 4)
    ]
    if buttons:
        parts.append(row(*buttons))
    parts += [note, layout]
    return column(*parts, sizing_mode="stretch_width", name=f"{explorer.name}_static")


def _off_grid_notes(explorer: Explorer) -> dict[str, str]:
    """What the page says where only its formula has results: the formula's ``off_grid`` and
    the page controls' values the grid was run at (the notebook's, "", or a preset's)."""
    if explorer.page is None or not explorer.page.grid_only:
        return {}
    held = {
        "": explorer.values,
        **{p.label: {**explorer.values, **p.values} for p in explorer.presets},
    }
    return {
        who: "<div style='font-size:15px'>"
        + html.escape(
            f"{explorer.page.off_grid} They were run with "
            + "; ".join(f"{c.label} {c.display(values[c.name])}" for c in explorer.page_controls)
            + "."
        )
        + "</div>"
        for who, values in held.items()
    }


def _evenly_spaced(steps: tuple) -> bool:
    if len(steps) < 3:
        return True
    gaps = np.diff(np.asarray(steps, dtype="float64"))
    return bool(np.allclose(gaps, gaps[0], rtol=1e-9, atol=0))


def _grid_widget(explorer: Explorer, control: Control, steps: tuple):
    """A control's widget over the grid's values only: a select, a slider whose step is the
    grid's, or (uneven grid) a slider over positions showing each position's value."""
    from bokeh.models import CustomJSTickFormatter, Select, Slider

    value = explorer.values[control.name]
    wname = f"{explorer.name}_{control.name}"
    if control.is_choice:
        labels = dict(zip(control.values, control.labels, strict=True))
        options = [(str(v), labels.get(v, str(v))) for v in steps]
        return Select(title=control.label, value=str(value), options=options, name=wname)
    if _evenly_spaced(steps):
        step = (steps[1] - steps[0]) if len(steps) > 1 else (control.step or 1)
        return Slider(
            title=control.label,
            start=steps[0],
            end=steps[-1],
            value=value,
            step=step,
            format=control.fmt,
            name=wname,
        )
    shown = [control.display(v) for v in steps]
    return Slider(
        title=control.label,
        start=0,
        end=len(steps) - 1,
        value=_position(steps, value),
        step=1,
        format=CustomJSTickFormatter(
            args={"shown": shown}, code="return shown[Math.round(tick)] ?? '';"
        ),
        name=wname,
        tags=["indexed"],
    )


def _page_widget(explorer: Explorer, control: Control):
    """A control the page's formula computes for: its live range and step."""
    from bokeh.models import Select, Slider

    value = explorer.values[control.name]
    wname = f"{explorer.name}_{control.name}"
    if control.is_choice:
        options = [(str(v), lab) for v, lab in zip(control.values, control.labels, strict=True)]
        return Select(title=control.label, value=str(value), options=options, name=wname)
    return Slider(
        title=control.label,
        start=control.start,
        end=control.end,
        value=value,
        step=control.step,
        format=control.fmt,
        name=wname,
    )


def static_html(explorer: Explorer, title: str | None = None) -> str:
    """A standalone HTML page with BokehJS inlined: works offline, no kernel."""
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    return file_html(explorer.static_layout(), INLINE, title=title or explorer.title)


def _lengths_vary(name: str, states: list[dict]) -> bool:
    lengths = {len(next(iter(s[name]["data"].values()), ())) for s in states}
    return len(lengths) > 1
