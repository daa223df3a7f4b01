"""Reading and writing CRM exports, and the seeded sample world."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.schema import OPTIONAL_TABLES, REQUIRED_TABLES, TABLES, CRMData, DataError, validate

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
CSV_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _unreadable(path: Path, what: str, fix: str) -> DataError:
    return DataError(f"{path}: {what}; {fix}")


def _header_fix(table) -> str:
    return f"the {table.name} table needs a header row with {', '.join(table.column_names)}"


def _first_bad_utf8(path: Path) -> str:
    """Where the first byte that is not UTF-8 sits, as 'line N' (read only on the error path)."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return f"line {line}, byte {raw[exc.start : exc.start + 1]!r}"
    return "somewhere in the file"


def _not_utf8(path: Path) -> DataError:
    return _unreadable(
        path,
        f"the file is not UTF-8 text (first bad byte at {_first_bad_utf8(path)})",
        "save or re-export it as UTF-8 (in Excel: Save As, 'CSV UTF-8')",
    )


def _read_csv(path: Path, table) -> pd.DataFrame:
    """One CSV table, every contract column as text, only empty cells missing.

    Arrow's reader refuses rows with too many or too few fields (pandas pads short rows with
    missing values), and ids or sources written ``NA``, ``null``, ``None`` or ``N/A`` stay text.
    """
    import pyarrow as pa
    from pyarrow import csv

    convert = csv.ConvertOptions(
        column_types={name: pa.string() for name in table.column_names},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        arrow = csv.read_csv(
            path,
            parse_options=csv.ParseOptions(newlines_in_values=True),
            convert_options=convert,
        )
        names = arrow.column_names  # decodes the header: not checked by the reader
    except UnicodeDecodeError as exc:
        raise _not_utf8(path) from exc
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "Empty CSV file" in msg:
            raise _unreadable(path, "the file is empty", _header_fix(table)) from exc
        if "UTF8" in msg or "UTF-8" in msg:
            raise _not_utf8(path) from exc
        if "Expected" in msg and "columns" in msg:
            raise _unreadable(
                path,
                f"a row has a different number of fields from the header ({msg.strip()})",
                "every row needs one value per header column; quote values that contain commas",
            ) from exc
        raise _unreadable(path, f"not a readable CSV file ({msg.strip()})", "re-export it") from exc
    except OSError as exc:
        raise _unreadable(path, f"cannot be read ({exc})", "check the file") from exc
    if all(not name.strip() for name in names) and not path.read_bytes().strip():
        raise _unreadable(path, "the file is empty (only blank lines)", _header_fix(table))
    doubled = sorted({name for name in names if names.count(name) > 1})
    if doubled:
        raise _unreadable(
            path, f"column(s) {doubled} appear more than once in the header", "rename or drop one"
        )
    if any(pa.types.is_binary(f.type) for f in arrow.schema):  # an extra column, not UTF-8
        raise _not_utf8(path)
    if len(names) == 1 and any(sep in names[0] for sep in ";\t|"):
        raise _unreadable(
            path,
            f"the header {names[0]!r} is one column: the file is not comma-separated",
            "export it with commas between values (or read it yourself with pandas' sep= and "
            "build a CRMData)",
        )
    return arrow.to_pandas()


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(
            path,
            f"not a readable Parquet file ({str(exc).strip()})",
            "re-export it, or export the table as CSV instead",
        ) from exc
    names = arrow.column_names
    doubled = sorted({name for name in names if names.count(name) > 1})
    if doubled:
        raise _unreadable(path, f"column(s) {doubled} appear more than once", "re-export it")
    try:
        return arrow.to_pandas()
    except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
        raise _unreadable(
            path, f"has columns pandas cannot hold ({exc})", "re-export it with plain types"
        ) from exc


def _read_table(folder: Path, name: str) -> pd.DataFrame | None:
    table = TABLES[name]
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    if parquet.exists() and csv.exists():
        # one of the two is stale (an older export, a conversion left behind): never pick one
        raise DataError(
            f"{folder}: two files for the {name} table, {csv.name} and {parquet.name}; "
            "delete or move the one that is not the current export"
        )
    if parquet.exists():
        return _read_parquet(parquet)
    if csv.exists():
        return _read_csv(csv, table)
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
        Validated, with parsed timestamps (UTC offsets converted to UTC).

    Raises
    ------
    DataError
        Naming the file, or the table and column, how many rows and the first ids, and the fix:
        a file that is empty, not UTF-8, ragged (a row with more or fewer fields than the
        header) or not Parquet; a table present both as CSV and as Parquet (one is stale); and
        everything :func:`toolkit.validate` refuses.

    Notes
    -----
    In a CSV only an empty cell is missing: an id or a source written ``NA``, ``null``,
    ``None`` or ``N/A`` is that text. Each date column is read with one format chosen over all
    its values (ISO 8601 first, then month/day or day/month forms), so the values that do not
    fit are named; numbers in a date column (epoch seconds) are refused, not read as 1970.
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
    """Write every table of ``data`` to ``path`` as ``NAME.csv`` (or ``NAME.parquet``).

    Refuses (:class:`toolkit.DataError`) a folder that holds a table in the other format.
    """
    if format not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', got {format!r}")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    other = "parquet" if format == "csv" else "csv"
    stale = [f"{name}.{other}" for name in data.tables() if (folder / f"{name}.{other}").exists()]
    if stale:  # read_crm refuses a table written twice, so never leave one behind
        raise DataError(
            f"{folder}: already holds {', '.join(stale)}; writing {format} beside it would leave "
            "two files for one table: write to an empty folder or delete those files first"
        )
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
