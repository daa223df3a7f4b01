"""Reading and writing CRM exports, and the seeded sample world."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.schema import OPTIONAL_TABLES, REQUIRED_TABLES, TABLES, CRMData, DataError, validate

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
CSV_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _read_table(folder: Path, name: str) -> pd.DataFrame | None:
    table = TABLES[name]
    id_cols = [c.name for c in table.columns if c.kind == "id"]
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    if parquet.exists():
        return pd.read_parquet(parquet)
    if csv.exists():
        # ids stay text ("007" is not 7) so that tables join on what the export wrote
        return pd.read_csv(csv, dtype={col: "str" for col in id_cols}, keep_default_na=True)
    return None


def read_crm(path, *, as_of=None) -> CRMData:
    """Read a folder of ``leads``, ``events``, ``members`` and (optional) ``orders`` and
    ``role_history`` tables, as ``NAME.csv`` or ``NAME.parquet``, and validate them.

    Parameters
    ----------
    path : str or Path
        The folder of the export.
    as_of : timestamp-like, optional
        When the export was taken. Defaults to the latest timestamp in the data.

    Returns
    -------
    CRMData
        Validated, with parsed timestamps. Raises :class:`toolkit.DataError` naming the table,
        column, number of rows and first ids of anything that breaks the contract.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(
            f"{folder}: not a folder; expected one with leads, events and members tables"
        )
    frames = {name: _read_table(folder, name) for name in (*REQUIRED_TABLES, *OPTIONAL_TABLES)}
    missing = [name for name in REQUIRED_TABLES if frames[name] is None]
    if missing:
        raise DataError(
            f"{folder}: missing table(s) {missing}; expected NAME.csv or NAME.parquet for each of "
            f"{', '.join(REQUIRED_TABLES)} (orders and role_history are optional)"
        )
    if frames["orders"] is None:
        frames["orders"] = TABLES["orders"].empty()
    return validate(CRMData(**frames, as_of=as_of))


def write_crm(data: CRMData, path, *, format: str = "csv") -> Path:
    """Write every table of ``data`` to ``path`` as ``NAME.csv`` (or ``NAME.parquet``)."""
    if format not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', got {format!r}")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in data.tables().items():
        if format == "parquet":
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            frame.to_csv(folder / f"{name}.csv", index=False, date_format=CSV_TIME_FORMAT)
    return folder


def load_sample() -> CRMData:
    """The bundled sample world (see ``sample_data/README.md``): 20,000 contacts over 24 months.

    Read from ``sample_data/`` when the folder is there (a clone of the repository); generated
    afresh with the same seed otherwise (an installed wheel), which gives the same tables.
    """
    if (SAMPLE_DIR / "leads.csv").exists():
        return read_crm(SAMPLE_DIR)
    return generate_sample()


def generate_sample(n_contacts: int = 20_000, *, months: int = 24, seed: int = 2024) -> CRMData:
    """The seeded sample world; see :mod:`toolkit.sample_world` for the process and its effects."""
    from toolkit.sample_world import generate

    return generate(n_contacts, months=months, seed=seed)
