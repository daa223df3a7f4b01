"""The live renderer: ipywidgets controls next to the Bokeh layout in a ``BokehModel``.

The layout is built once; a control change re-runs the explorer's headless function and
replaces ``ColumnDataSource.data`` (and readout text) in place. No ``push_notebook`` (it does
nothing under Voila).
"""

from __future__ import annotations

import html
from typing import Any

from toolkit.explorers.core import Explorer, _conform, _stretch
from toolkit.explorers.static import _same


def widget(explorer: Explorer):
    """The live form: ipywidgets controls and the Bokeh layout in a ``BokehModel``."""
    import ipywidgets as w
    from jupyter_bokeh import BokehModel

    first = explorer.results()
    layout = _stretch(explorer.build(first))
    models = {m.name: m for m in layout.references() if m.name}
    # what the page holds now, kept up to date as properties are sent
    base = {name: props for name, props in explorer.state(first).items() if name in models}
    status = w.HTML(value="", layout=w.Layout(min_height="1.5em"))
    inputs: dict[str, Any] = {}
    style = {"description_width": "initial"}
    for c in explorer.controls:
        if c.is_choice:
            inputs[c.name] = w.Dropdown(
                options=list(zip(c.labels, c.values, strict=True)),
                value=explorer.values[c.name],
                description=c.label,
                style=style,
            )
        else:
            cls = w.IntSlider if c.integer else w.FloatSlider
            inputs[c.name] = cls(
                value=explorer.values[c.name],
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
            state = explorer.state(explorer.results(**values))
        except ValueError as err:  # an impossible combination: say so, keep the last plot
            status.value = f"<span style='color:#b30000'>{html.escape(str(err))}</span>"
            return
        status.value = ""
        explorer.values.update(explorer._check(values))
        doc = layout.document
        if doc is not None:
            doc.hold("combine")  # one patch message to the browser, not one per property
        try:
            for name, props in _conform(state, base).items():
                for prop, value in props.items():
                    if _unchanged(base[name].get(prop), value):
                        continue  # nothing to send, nothing for BokehJS to redraw
                    setattr(models[name], prop, value)
                    base[name][prop] = value
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
    for p in explorer.presets:
        b = w.Button(description=p.label, layout=w.Layout(width="auto"))
        b.on_click(preset_handler(p))
        buttons.append(b)
    parts = [w.HTML(f"<b>{html.escape(explorer.title)}</b>")]
    parts.append(w.HBox(list(inputs.values()), layout=w.Layout(flex_flow="row wrap")))
    if buttons:
        parts.append(w.HBox(buttons, layout=w.Layout(flex_flow="row wrap")))
    if explorer.note:
        parts.append(w.HTML(f"<small>{html.escape(explorer.note)}</small>"))
    parts += [status, BokehModel(layout)]
    box = w.VBox(parts)
    # handles for tests and the latency benchmark
    box.inputs, box.models, box.refresh = inputs, models, refresh
    return box


def _unchanged(old, new) -> bool:
    """Whether a model property already holds ``new`` (a source's data column by column)."""
    if isinstance(new, dict):
        return (
            isinstance(old, dict)
            and old.keys() == new.keys()
            and all(_same(old[k], new[k]) for k in new)
        )
    return old is not None and _same(old, new)
