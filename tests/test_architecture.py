"""The imports run one way, and nobody reaches into another package's private names.

Every module of ``toolkit`` belongs to one layer, lowest first:

0. **data**: the data contract and the plumbing every computation shares (``schema``,
   ``datasets``, ``sample_world``, ``recruiting``, ``frames``, ``censoring``, ``rates``, ``results``) and the
   light façade ``toolkit/__init__.py``.
1. **computation**: one package or module per topic (``funnel``, ``cohorts``, ``retention``,
   ``lead_quality``, ``growth``, ``genealogy``, ``income``); results are frames or small result
   objects, never figures.
2. **plots**: ``toolkit.plots``, Bokeh figures drawn from computed results.
3. **explorers**: ``toolkit.explorers``, controls wired to a computation and a plot.
4. **report**: ``report``, ``present`` and ``__main__``, which run notebooks and servers.

A module may import from its own layer and the layers below it, never from a layer above (a
back-edge). Imports inside functions count too: a lazy import is still a dependency.

A private name (``_name``, or anything in a ``_module``) is private to its *unit*: the
top-level package or module below ``toolkit`` that defines it (``toolkit.growth``,
``toolkit.plots``, ``toolkit.rates``, ...). ``toolkit.growth.claims`` may use
``toolkit.growth.projection._project``; ``toolkit.explorers.cohorts`` may not use a private
helper of ``toolkit.plots``, and ``toolkit.genealogy`` may not use one of ``toolkit.frames``.
What another unit needs is made public (and documented) or moved.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT as REPO

ROOT = REPO / "toolkit"

LAYERS = ("data", "computation", "plots", "explorers", "report")
# module (or package prefix) -> layer; the longest matching prefix wins. A new module must be
# placed here: the test fails on a module without a layer rather than guess.
LAYER_OF = {
    "toolkit": "data",  # the façade: eager imports of the data layer only, the rest lazily
    "toolkit.schema": "data",
    "toolkit.problems": "data",
    "toolkit.checks": "data",
    "toolkit.date_parsing": "data",
    "toolkit.mapping": "data",
    "toolkit.datasets": "data",
    "toolkit.sample_world": "data",
    "toolkit.recruiting": "data",
    "toolkit.frames": "data",
    "toolkit.censoring": "data",
    "toolkit.rates": "data",
    "toolkit.results": "data",
    "toolkit.funnel": "computation",
    "toolkit.cohorts": "computation",
    "toolkit.retention": "computation",
    "toolkit.lead_quality": "computation",
    "toolkit.growth": "computation",
    "toolkit.genealogy": "computation",
    "toolkit.income": "computation",
    "toolkit.income._tree_arrays": "computation",  # the numpy route of the money computations
    "toolkit.income._array_payouts": "computation",
    "toolkit.plots": "plots",
    "toolkit.explorers": "explorers",
    "toolkit.report": "report",
    "toolkit.present": "report",
    "toolkit.__main__": "report",
}


@dataclass(frozen=True)
class Edge:
    importer: str  # module doing the import
    target: str  # module imported from
    name: str | None  # the name taken from it (None for ``import x``)
    line: int

    def __str__(self) -> str:
        what = f"{self.target}.{self.name}" if self.name else self.target
        return f"{self.importer} (line {self.line}) imports {what}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module of a ``from ... import`` (relative imports included)."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not _is_package(importer):
        base = base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _edges(module: str, source: str | None = None) -> list[Edge]:
    """Every use of another toolkit module: imports (at any depth), and ``alias._name`` reads
    through a module imported under ``alias``. ``source`` replaces the module's file."""
    if source is None:
        source = MODULES[module].read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(MODULES[module]))
    out = []
    aliases: dict[str, str] = {}  # local name -> toolkit module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "toolkit":
                    out.append(Edge(module, a.name, None, node.lineno))
                    if a.asname:
                        aliases[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if target.split(".")[0] != "toolkit":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:  # ``from toolkit import recruiting`` imports a module
                    out.append(Edge(module, sub, None, node.lineno))
                    aliases[alias.asname or alias.name] = sub
                else:
                    out.append(Edge(module, target, alias.name, node.lineno))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            out.append(Edge(module, aliases[node.value.id], node.attr, node.lineno))
    return out


EDGES = [edge for module in MODULES for edge in _edges(module)]


def layer_of(module: str) -> str:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYER_OF:
            return LAYER_OF[prefix]
    raise KeyError(module)


def unit_of(module: str) -> str:
    """The top-level package or module below ``toolkit`` (``toolkit`` itself for the façade)."""
    return ".".join(module.split(".")[:2])


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_every_module_has_a_layer():
    missing = []
    for module in MODULES:
        try:
            layer_of(module)
        except KeyError:
            missing.append(module)
    assert not missing, f"place these modules in LAYER_OF (tests/test_architecture.py): {missing}"


def test_imports_never_point_up_a_layer():
    back = [
        f"{edge}: {layer_of(edge.importer)} may not depend on {layer_of(edge.target)}"
        for edge in EDGES
        if edge.target in MODULES
        and LAYERS.index(layer_of(edge.target)) > LAYERS.index(layer_of(edge.importer))
    ]
    assert not back, "back-edges between layers:\n" + "\n".join(back)


def test_no_private_name_crosses_a_unit():
    crossing = []
    for edge in EDGES:
        if unit_of(edge.importer) == unit_of(edge.target):
            continue
        private_module = any(_private(part) for part in edge.target.split("."))
        if private_module or (edge.name is not None and _private(edge.name)):
            crossing.append(str(edge))
    assert not crossing, (
        "private names used outside their package (make them public and documented, or move "
        "them):\n" + "\n".join(crossing)
    )


def test_no_import_cycles_at_module_level():
    # module-level imports only: a function-level import that dispatches (Explorer.widget
    # importing toolkit.explorers.live) runs after both modules exist and cannot deadlock
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                target = _resolve(module, node)
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    dep = sub if sub in MODULES else target
                    if dep in MODULES and dep != module:
                        graph[module].add(dep)
            elif isinstance(node, ast.Import):
                graph[module] |= {a.name for a in node.names if a.name in MODULES} - {module}
    # a package's __init__ importing its own submodules is the normal re-export, and a
    # submodule importing a sibling loads the package first: drop package -> own submodule
    for module in graph:
        graph[module] = {d for d in graph[module] if not d.startswith(module + ".")}
    seen: dict[str, int] = {}  # 1 = on the stack, 2 = done
    cycles = []

    def visit(module: str, stack: list[str]) -> None:
        seen[module] = 1
        for dep in sorted(graph[module]):
            if seen.get(dep) == 1:
                cycles.append(" -> ".join([*stack[stack.index(dep) :], dep]))
            elif dep not in seen:
                visit(dep, [*stack, dep])
        seen[module] = 2

    for module in sorted(graph):
        if module not in seen:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


# -- the checks check: each rule fails on the violation it names ------------------------------


@pytest.mark.parametrize(
    "importer, target, name, rule",
    [
        ("toolkit.growth.simulation", "toolkit.plots.growth_plots", "growth_fan", "layer"),
        ("toolkit.schema", "toolkit.funnel", "funnel_table", "layer"),
        ("toolkit.plots.cohort_plots", "toolkit.explorers.cohorts", "cohort_explorer", "layer"),
        ("toolkit.explorers.cohorts", "toolkit.plots.cohort_plots", "_labels", "private"),
        ("toolkit.growth.calibration", "toolkit.genealogy", "_genealogy", "private"),
        ("toolkit.plots.style", "toolkit.growth.projection", "_project", "private"),
    ],
)
def test_the_rules_catch_what_they_name(importer, target, name, rule):
    edge = Edge(importer, target, name, 1)
    if rule == "layer":
        assert LAYERS.index(layer_of(edge.target)) > LAYERS.index(layer_of(edge.importer))
    else:
        assert unit_of(edge.importer) != unit_of(edge.target) and _private(edge.name)


def test_allowed_edges_pass():
    # same unit: private helpers are shared inside a package
    assert unit_of("toolkit.growth.claims") == unit_of("toolkit.growth.projection")
    assert unit_of("toolkit.explorers.static") == unit_of("toolkit.explorers.core")
    assert not _private("__version__")
    # downward edges are fine
    assert LAYERS.index(layer_of("toolkit.frames")) < LAYERS.index(layer_of("toolkit.growth"))


def test_the_walk_sees_private_reads_through_a_module():
    # ``from toolkit import frames; frames._helper()`` is the same reach as importing _helper
    code = "from toolkit import frames as f\n\ndef g():\n    return f._hidden()\n"
    edges = _edges("toolkit.genealogy", code)
    assert Edge("toolkit.genealogy", "toolkit.frames", "_hidden", 4) in edges


def test_the_walk_sees_lazy_imports():
    # explorers import their computations inside functions; the walk must see them
    lazy = [e for e in EDGES if e.importer == "toolkit.explorers.growth"]
    assert any(e.target.startswith("toolkit.plots") for e in lazy)
