"""What-if explorers: one definition, two renderers (live ipywidgets, static HTML).

Each explorer binds a few controls to a plain toolkit function (its headless twin) and a plot
from :mod:`toolkit.plots`. Displayed in JupyterLab or Voila it is live; exported by
``python -m toolkit report`` (``TOOLKIT_RENDERER=static``) its sliders step through a grid of
results computed in advance, or the page computes a closed form itself
(:mod:`toolkit.explorers.formulas`), so the HTML file still responds without a kernel or a network.
"""

from importlib import import_module

# Public name -> module that defines it, imported on first use (Bokeh and ipywidgets are heavy).
_LAZY = {
    "Control": "toolkit.explorers.core",
    "Preset": "toolkit.explorers.core",
    "Explorer": "toolkit.explorers.core",
    "renderer": "toolkit.explorers.core",
    "funnel_explorer": "toolkit.explorers.funnel",
    "growth_explorer": "toolkit.explorers.growth",
    "lead_budget_explorer": "toolkit.explorers.lead_budget",
    "cohort_explorer": "toolkit.explorers.cohorts",
    "income_explorer": "toolkit.explorers.income",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'toolkit.explorers' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_LAZY})
