"""Reading and writing CRM exports, and the seeded sample world."""

from __future__ import annotations

import csv as stdcsv
import datetime
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from toolkit.mapping import CHECK_HINT, MAPPING_FILE, CRMMapping, apply_mapping, load_mapping
from toolkit.schema import (
    LEAD_TABLES,
    OPTIONAL_TABLES,
    REQUIRED_TABLES,
    TABLES,
    CRMData,
    DataError,
    Problems,
    validate,
)

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


_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".xlsx")
_BOM = b"\xef\xbb\xbf"


def _header_line(head: bytes, encoding: str) -> str:
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    return next((line for line in text.splitlines() if line.strip()), "")


def _sniff_delimiter(line: str) -> str:
    """The delimiter that splits the header ``line`` into the most fields (comma on a tie)."""
    best, most = ",", 1
    for delimiter in _DELIMITERS:
        fields = len(next(stdcsv.reader([line], delimiter=delimiter), []))
        if fields > most:
            best, most = delimiter, fields
    return best


def _is_blank(path: Path) -> bool:
    """Zero bytes, or only a BOM and blank lines."""
    size = path.stat().st_size
    return size == 0 or (size < 4096 and not path.read_bytes().replace(_BOM, b"").strip())


def _decodes(path: Path, encoding: str) -> bool:
    try:
        path.read_bytes().decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _read_csv(path: Path, table, text_columns=(), notes=None) -> pd.DataFrame:
    """One CSV table, the contract's (or mapped) columns as text, only empty cells missing.

    The delimiter (comma, semicolon, tab or pipe) is taken from the header line; UTF-8 with or
    without a BOM is read as is, a file that is not UTF-8 but is Windows-1252 (cp1252) is read as
    that and said so in ``notes``. Arrow's reader refuses rows with too many or too few fields
    (pandas pads short rows with missing values), and ids or sources written ``NA``, ``null``,
    ``None`` or ``N/A`` stay text.
    """
    import pyarrow as pa
    from pyarrow import csv

    notes = [] if notes is None else notes
    try:
        with path.open("rb") as f:
            head = f.read(1 << 16)
    except OSError as exc:
        raise _unreadable(path, f"cannot be read ({exc})", "check the file") from exc
    if not head.replace(_BOM, b"").strip():
        raise _unreadable(path, "the file is empty", _header_fix(table))

    def attempt(encoding):
        line = _header_line(head, encoding)
        delimiter = _sniff_delimiter(line)
        names = next(stdcsv.reader([line], delimiter=delimiter), [])
        text = {*table.column_names, *text_columns}
        convert = csv.ConvertOptions(
            column_types={name: pa.string() for name in names if name.strip() in text},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        arrow = csv.read_csv(
            path,
            read_options=csv.ReadOptions(encoding=encoding),
            parse_options=csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=convert,
        )
        arrow.column_names  # noqa: B018 - decodes the header, which the reader does not check
        return arrow, delimiter

    def not_utf8(arrow=None) -> bool:
        return arrow is not None and any(pa.types.is_binary(f.type) for f in arrow.schema)

    try:
        try:
            arrow, delimiter = attempt("utf8")
            utf8_failed = not_utf8(arrow)
        except UnicodeDecodeError:  # in the header: decoded only when its names are read
            utf8_failed = True
        except pa.ArrowInvalid as exc:
            if "UTF8" not in str(exc) and "UTF-8" not in str(exc):
                raise
            utf8_failed = True
        if utf8_failed:
            where = _first_bad_utf8(path)
            if not _decodes(path, "cp1252"):
                raise _not_utf8(path)
            arrow, delimiter = attempt("cp1252")
            notes.append(
                f"{path.name} is not UTF-8 (first non-UTF-8 byte at {where}): read as "
                "Windows-1252 (cp1252); re-export it as UTF-8 if any name looks wrong"
            )
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "Empty CSV file" in msg:
            raise _unreadable(path, "the file is empty", _header_fix(table)) from exc
        if "Expected" in msg and "columns" in msg:
            raise _unreadable(
                path,
                f"a row has a different number of fields from the header ({msg.strip()})",
                "every row needs one value per header column; quote values that contain the "
                "delimiter",
            ) from exc
        raise _unreadable(path, f"not a readable CSV file ({msg.strip()})", "re-export it") from exc
    except OSError as exc:
        raise _unreadable(path, f"cannot be read ({exc})", "check the file") from exc
    names = arrow.column_names
    doubled = sorted({name for name in names if names.count(name) > 1})
    if doubled:
        raise _unreadable(
            path, f"column(s) {doubled} appear more than once in the header", "rename or drop one"
        )
    if delimiter != ",":
        notes.append(f"{path.name} is {_DELIMITERS[delimiter]}-separated")
    return arrow.to_pandas()


def _excel_cell(value):
    """A cell as CSV would give it: text (numbers and booleans written out), dates kept, empty
    as missing, so ids such as 1001 are the text '1001' whatever Excel stored."""
    if value is None or isinstance(value, (datetime.datetime, datetime.date)):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def _read_xlsx(path: Path, sheet: str | None, table) -> pd.DataFrame:
    """One table from a workbook: ``sheet``, or the sheet named like the table, or the first."""
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    where = f"{path} (sheet {sheet!r})" if sheet else str(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .xlsx workbook ({exc}); re-export it") from exc
    try:
        if sheet is None:
            named = [ws for ws in book.worksheets if ws.title.strip().casefold() == table.name]
            sheet_obj = named[0] if named else book.worksheets[0]
        else:
            sheet_obj = book[sheet]
        rows = sheet_obj.iter_rows(values_only=True)
        header = next(rows, None)
        body = [row for row in rows if any(_excel_cell(v) is not None for v in row)]
    finally:
        book.close()
    names = [str(h).strip() if h is not None else "" for h in (header or ())]
    while (
        names
        and not names[-1]
        and all(len(r) < len(names) or r[len(names) - 1] is None for r in body)
    ):
        names.pop()  # trailing empty header cells of a sheet's used range
    if not any(names):
        raise DataError(f"{where}: the sheet is empty; {_header_fix(table)}")
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise DataError(
            f"{where}: column(s) {doubled} appear more than once in the header; rename or drop one"
        )
    columns = {}
    for i, name in enumerate(names):
        cells = [_excel_cell(r[i]) if i < len(r) else None for r in body]
        kinds = {type(v) for v in cells if v is not None}
        if kinds and all(issubclass(k, (datetime.datetime, datetime.date)) for k in kinds):
            columns[name or f"column {i + 1}"] = pd.to_datetime(pd.Series(cells, dtype=object))
        elif kinds <= {str}:
            columns[name or f"column {i + 1}"] = pd.Series(cells, dtype="str")
        else:  # text and dates mixed: validate parses each kind by its own rule
            columns[name or f"column {i + 1}"] = pd.Series(cells, dtype=object)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(body)))


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


def _sources(folder: Path, mapping: CRMMapping):
    """Where each table is: files named like it (any case, any of :data:`TABLE_SUFFIXES`),
    sheets named like it in a workbook not named after a table, or what ``[tables]`` names;
    and the workbooks that could not be opened to look for sheets."""
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and not p.name.startswith(("~$", "."))
    )
    named = {v.casefold() for v in mapping.tables.values()}
    books = [
        p
        for p in files
        if p.suffix.lower() == ".xlsx"
        and p.stem.casefold() not in TABLES
        and not {p.name.casefold(), p.stem.casefold()} & named  # a file of one table
    ]
    sheets: dict[str, list[tuple[Path, str]]] = {}
    unreadable: list[str] = []
    if books:
        from zipfile import BadZipFile

        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        for book_path in books:
            try:
                book = load_workbook(book_path, read_only=True)
            except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as exc:
                unreadable.append(f"{book_path.name} is not a readable workbook ({exc})")
                continue
            for title in book.sheetnames:
                sheets.setdefault(title.strip().casefold(), []).append((book_path, title))
            book.close()
    out = {}
    for name in TABLES:
        wanted = mapping.tables.get(name, name)
        by_file = [p for p in files if p.name.casefold() == wanted.casefold()]
        if not by_file:
            by_file = [
                p
                for p in files
                if p.stem.casefold() == wanted.casefold() and p.suffix.lower() in TABLE_SUFFIXES
            ]
        out[name] = [(p, None) for p in by_file] + sheets.get(wanted.strip().casefold(), [])
    return out, unreadable


def _describe(source: tuple[Path, str | None]) -> str:
    path, sheet = source
    return f"{path.name} (sheet {sheet!r})" if sheet else path.name


@dataclass
class ReadTables:
    """The tables of an export as read, before the mapping: frames (None when absent), the
    file each came from, notes on how they were read, and the problems found."""

    frames: dict[str, pd.DataFrame | None]
    files: dict[str, str]
    notes: list[tuple[str, str]]
    problems: list[str]


def read_tables(folder, mapping: CRMMapping | None = None) -> ReadTables:
    """Read every table of the export in ``folder`` as it is (no mapping applied, no checks).

    Problems with a file (unreadable, empty, two files for one table) and missing required
    tables are collected in ``problems``, one line each, never raised; only a ``folder`` that
    is not a folder raises :class:`DataError`.
    """
    folder = Path(folder)
    mapping = mapping or CRMMapping()
    if not folder.is_dir():
        raise DataError(
            f"{folder}: not a folder; expected one with leads, events and members tables"
        )
    read = ReadTables({}, {}, [], [])
    sources, unreadable = _sources(folder, mapping)
    for name, found in sources.items():
        table = TABLES[name]
        read.frames[name] = None
        if len(found) > 1:
            shown = " and ".join(map(_describe, found))
            read.problems.append(
                f"{folder}: two files for the {name} table, {shown}; delete or move the one that "
                "is not the current export"
            )
            continue
        if not found:
            if name in mapping.tables:
                read.problems.append(
                    f"{folder}: the mapping ({mapping.source}) names {mapping.tables[name]!r} for "
                    f"the {name} table, and there is no such file or sheet; correct it under "
                    "[tables]"
                )
                read.files[name] = mapping.tables[name]
            continue
        path, sheet = found[0]
        read.files[name] = _describe(found[0])
        optional = name in OPTIONAL_TABLES
        notes: list[str] = []
        try:
            if path.suffix.lower() in (".xlsx",):
                frame = _read_xlsx(path, sheet, table)
            elif path.suffix.lower() == ".parquet":
                frame = _read_parquet(path)
            elif optional and _is_blank(path):
                read.notes.append((name, f"{path.name} is empty: read as no {name} table"))
                continue
            else:
                text = mapping.columns.get(name, {}).values()
                frame = _read_csv(path, table, text_columns=text, notes=notes)
        except DataError as exc:
            read.problems += exc.problems
            continue
        read.notes += [(name, n) for n in notes]
        if not len(frame):
            if not optional:
                read.problems.append(
                    f"{folder / read.files[name]}: the {name} table has a header but no rows; "
                    "export the table with its rows"
                )
                continue
            read.notes.append((name, f"{read.files[name]} has a header and no rows"))
        read.frames[name] = frame
    missing = [n for n in REQUIRED_TABLES if read.frames[n] is None and n not in read.files]
    if read.frames.get("orders") is not None and not (set(LEAD_TABLES) - set(missing)):
        missing = [n for n in missing if n not in LEAD_TABLES]  # orders-only data
        read.notes.append(("orders", "no leads nor events: orders-only data (no funnel)"))
    if missing:
        present = [p.name for p in sorted(folder.iterdir()) if p.is_file()]
        read.problems.append(
            f"{folder}: missing table(s) {missing}; expected NAME.csv, NAME.xlsx or NAME.parquet "
            f"(or a sheet NAME in one workbook) for each of {', '.join(REQUIRED_TABLES)} (orders "
            f"and role_history are optional); files present: {present}; name other files under "
            f"[tables] in {MAPPING_FILE}, or {CHECK_HINT}"
            + "".join(f"; {text}" for text in unreadable)
        )
    return read


def assemble(read: ReadTables, mapping: CRMMapping, *, as_of=None):
    """``read`` with ``mapping`` applied and validated: ``(data, mapped, problems)``, with
    ``data`` None when there are problems."""
    mapped = apply_mapping(read.frames, mapping, read.files)
    frames = dict(mapped.frames)
    if frames.get("orders") is None:  # no orders file: no rows (CRMData.has says so)
        frames["orders"] = TABLES["orders"].empty()
    notes = tuple(read.notes + mapped.notes)
    problems = list(mapped.problems)
    data = None
    pipeline = {k: mapping.pipeline.get(k) for k in ("stages", "lead_types")}
    try:
        data = validate(CRMData(**frames, as_of=as_of, notes=notes, **pipeline))
    except DataError as exc:
        problems += exc.problems
    return (None if problems else data), mapped, problems


def read_crm(path, *, mapping=None, as_of=None) -> CRMData:
    """Read a folder of ``leads``, ``events``, ``members`` and (optional) ``orders`` and
    ``role_history`` tables and validate them, with the export's own names mapped to the
    contract's.

    Parameters
    ----------
    path : str or Path
        The folder of the export: ``NAME.csv`` (comma, semicolon or tab separated, UTF-8 with or
        without BOM, or Windows-1252), ``NAME.xlsx``, ``NAME.parquet``, or one workbook with a
        sheet per table.
    mapping : dict, str or Path, optional
        How the export names tables, columns and values and writes dates (see
        :mod:`toolkit.mapping`): a dict, or a TOML file. Defaults to ``crm_mapping.toml`` in the
        folder when there is one. ``python -m toolkit check FOLDER`` proposes one.
    as_of : timestamp-like, optional
        When the export was taken. Defaults to the latest timestamp in the data.

    Returns
    -------
    CRMData
        Validated, with parsed timestamps (UTC offsets converted to UTC); its ``summary`` says
        how each table was read (mapped columns and values, delimiter, encoding).

    Raises
    ------
    DataError
        Naming the file, or the table and column, how many rows and the first ids, and the fix:
        a file that is empty, header-only (for leads, events, members), not UTF-8 nor cp1252,
        ragged or not Parquet/xlsx; a table present twice; a mapping naming headers the file
        lacks; dates ambiguous between day-first and month-first; and everything
        :func:`toolkit.validate` refuses.

    Notes
    -----
    In a CSV only an empty cell is missing: an id or a source written ``NA``, ``null``,
    ``None`` or ``N/A`` is that text. Values of ``stage``, ``lead_type`` and ``role`` are
    matched ignoring case and surrounding spaces. Without a date option each date column is
    read with one format chosen over all its values (ISO 8601 first, then month/day or
    day/month forms); a column where every value reads both ways is refused, naming the option
    to set (``dayfirst`` or ``date_format``). Numbers in a date column (epoch seconds) are
    refused, not read as 1970. An empty or header-only ``orders`` or ``role_history`` file is
    read as no rows / no table.
    """
    folder = Path(path)
    chosen = load_mapping(mapping, folder if folder.is_dir() else None)
    read = read_tables(folder, chosen)
    if read.problems:
        _raise(read.problems)
    if len(read.problems) == 1:
        raise DataError(read.problems[0])
    data, _, problems = assemble(read, chosen, as_of=as_of)
    _raise(problems)
    return data


def _raise(lines: list[str]):
    problems = Problems()
    for line in lines:
        problems.note(line)
    problems.raise_if_any()


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
