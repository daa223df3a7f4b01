"""Every tour notebook runs top to bottom on the bundled sample, with no error and no warning."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from tests.support import NOTEBOOKS as NOTEBOOK_DIR

NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def test_notebooks_are_committed_without_outputs():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        dirty = [
            i
            for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
        ]
        assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


def test_notebooks_open_with_a_parameters_cell():
    for path in NOTEBOOKS:
        code = [
            cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"
        ]
        assert "parameters" in code[0].metadata.get("tags", []), path.name
        assert "data_dir = None" in code[0].source, path.name


def test_first_cell_tells_a_newcomer_what_to_run():
    # Someone opening the tour cold sees this cell first: it must say what to click, what the
    # numbers come from, and how to switch to their own export.
    for path in NOTEBOOKS:
        first = nbformat.read(path, as_version=4).cells[0]
        assert first.cell_type == "markdown", path.name
        for words in ("Run All Cells", "bundled sample", "`data_dir`", "own CRM export"):
            assert words in first.source, f"{path.name}: the first cell does not say {words!r}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", (
                f"{path.name} cell {i}: {output.get('ename')}: {output.get('evalue')}"
            )
            if output.output_type == "stream" and output.name == "stderr":
                assert "Warning" not in output.text, f"{path.name} cell {i} warned:\n{output.text}"
