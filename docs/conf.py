"""Sphinx configuration: the API reference, generated from the numpydoc docstrings.

Build with ``make docs`` (into docs/_build/html); tests/test_docs.py builds it with -W so that
any warning (a broken docstring, a missing module) fails the suite.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "MLM Funnel Toolkit"
author = "MLM Funnel Toolkit contributors"
copyright = "the MLM Funnel Toolkit contributors"  # noqa: A001 (Sphinx's name)

extensions = ["sphinx.ext.autodoc", "numpydoc"]

# Offline: no intersphinx, no external assets; the built pages make no off-machine request.
html_theme = "alabaster"
html_static_path: list[str] = []
templates_path: list[str] = []
exclude_patterns = ["_build"]

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
autodoc_mock_imports: list[str] = []
numpydoc_show_class_members = False  # autodoc lists members; numpydoc would list them twice
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
nitpicky = False
