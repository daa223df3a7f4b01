"""The tour runs on any export (issue 15): every notebook on a small export missing each optional
piece in turn, and on one with its own names for sources, lead types and stages. Each says in
words what it cannot show; no output holds a NaN.

The notebooks of one export run one after another in one kernel (a kernel start per notebook
would triple the time); each reads its data afresh in its own setup cell.
"""

import re
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import toolkit
from tests.support import NOTEBOOKS as NOTEBOOK_DIR

NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
NAN = re.compile(r"\bnan\b", re.IGNORECASE)
SCRIPT = re.compile(r"<script.*?</script>", re.DOTALL | re.IGNORECASE)
# the parameters each notebook gets besides data_dir: fewer simulated worlds, for speed
FAST = "runs = 50\n"


def _without(data, table, column):
    return replace(data, **{table: getattr(data, table).drop(columns=column)})


def _own_names(data):
    """Sources, lead types and stages named as another CRM would (no name of the sample)."""
    sources = {s: f"channel {i}" for i, s in enumerate(sorted(data.leads["source"].unique()))}
    types = {"unqualified": "cold", "generic": "warm", "qualified": "hot"}
    stages = {"contact": "touch", "lead": "interest", "prospect": "demo", "customer": "buyer"}
    stages |= {"rep": "seller", "leader": "captain"}
    leads = data.leads.assign(
        source=data.leads["source"].map(sources), lead_type=data.leads["lead_type"].map(types)
    )
    events = data.events.assign(stage=data.events["stage"].map(stages))
    return replace(data, leads=leads, events=events), list(stages.values())


@pytest.fixture(scope="module")
def small():
    return toolkit.generate_sample(2_000)


def _export(small, piece, folder: Path) -> Path:
    data, mapping = small, ""
    if piece in (("leads", "cost"), ("leads", "owner_id"), ("members", "sponsor_id")):
        data = _without(small, *piece)
    elif piece == ("members", "left_at"):
        data = _without(small, *piece)
    elif piece == "role_history":
        data = replace(small, role_history=None)
    elif piece == "orders":
        data = replace(small, orders=None)
    elif piece == "orders rows":
        data = replace(small, orders=small.orders.iloc[:0])  # header-only orders.csv
    elif piece == "leads and events":
        data = replace(small, leads=None, events=None, members=small.members.assign(lead_id=None))
    elif piece == "own names":
        data, stages = _own_names(small)
        mapping = "[pipeline]\nstages = [" + ", ".join(f'"{s}"' for s in stages) + "]\n"
    toolkit.write_crm(data, folder)
    if mapping:
        (folder / "crm_mapping.toml").write_text(mapping)
    return folder


def _outputs(cell):
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            yield output.text
        elif output.output_type in ("execute_result", "display_data"):
            yield output.get("data", {}).get("text/plain", "")
            yield SCRIPT.sub("", output.get("data", {}).get("text/html", ""))


PIECES = [
    ("leads", "cost"),
    ("leads", "owner_id"),
    ("members", "sponsor_id"),
    ("members", "left_at"),
    "orders",
    "orders rows",
    "role_history",
    "leads and events",
    "own names",
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "piece",
    PIECES,
    ids=lambda p: "no " + "_".join(p) if isinstance(p, tuple) else p.replace(" ", "_"),
)
def test_every_notebook_runs_without_the_piece(small, piece, tmp_path):
    folder = _export(small, piece, tmp_path / "export")
    cells, starts = [], {}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        starts[len(cells)] = path.stem
        given = nbformat.v4.new_code_cell(f"data_dir = {str(folder)!r}\n{FAST}")
        cells += [code[0], given, *code[1:]]
    merged = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    NotebookClient(
        merged,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(NOTEBOOKS[0].parent)}},
    ).execute()
    name = ""
    for i, cell in enumerate(merged.cells):
        name = starts.get(i, name)
        for output in cell.get("outputs", []):
            assert output.output_type != "error", (
                f"{name}, without {piece}: {output.get('ename')}: {output.get('evalue')}\n"
                f"{cell.source}"
            )
        for text in _outputs(cell):
            found = NAN.search(text)
            assert not found, (
                f"{name}, without {piece}: NaN in the output of\n{cell.source}\n---\n"
                f"{text[max(0, found.start() - 300) : found.end() + 100]}"
            )
