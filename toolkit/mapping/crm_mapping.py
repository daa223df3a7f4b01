"""The mapping itself: load it (a dict or ``crm_mapping.toml``) and apply it to the frames read
(renamed columns, mapped values, dates parsed as told). See :mod:`toolkit.mapping`."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from toolkit.date_parsing import DATE_FORMATS, naive_utc_column
from toolkit.schema import (
    CHECK_HINT,
    EXAMPLES_SHOWN,
    LEAD_TYPES,
    ROLES,
    STAGES,
    TABLES,
    DataError,
)

MAPPING_FILE = "crm_mapping.toml"
VOCABULARIES = {"stage": STAGES, "lead_type": LEAD_TYPES, "role": ROLES}

OPEN_VOCABULARIES = {"stage": "stages", "lead_type": "lead_types"}  # column: [pipeline] key

SECTIONS = ("tables", "columns", "values", "dates", "pipeline")
DATE_KEYS = ("dayfirst", "date_format")


def normalise_header(text) -> str:
    """``text`` without case, spaces or punctuation: ``"Lead ID"`` and ``"lead_id"`` are alike."""
    return re.sub(r"[^0-9a-z]", "", str(text).casefold())


def _key(value: str) -> str:
    """How names and values are compared: case, surrounding spaces and the separators
    between words ignored (``" Retail Customer"`` is ``retail_customer``)."""
    return re.sub(r"[\s_-]+", "_", str(value).strip().casefold())


@dataclass(frozen=True)
class CRMMapping:
    """How an export names the contract's tables, columns and values, and writes its dates.

    Build one with :func:`load_mapping` (from a dict or a TOML file); see the module docstring
    for the sections. Every name is the contract's on the left, the export's on the right,
    except value maps, which read "the export's value = the contract's value".
    """

    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    dates: dict[str, object] = field(default_factory=dict)
    source: str = "no mapping"
    pipeline: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def vocabulary(self, column: str) -> tuple[str, ...]:
        """The values of ``column`` spelled canonically: the declared pipeline's, else the
        sample's (stage, lead_type) or the contract's (role)."""
        key = OPEN_VOCABULARIES.get(column)
        return tuple(self.pipeline.get(key, ())) or VOCABULARIES[column]

    def closed(self, column: str) -> bool:
        """Whether values of ``column`` outside :meth:`vocabulary` are refused."""
        return column not in OPEN_VOCABULARIES or OPEN_VOCABULARIES[column] in self.pipeline

    def date_option(self, table: str) -> dict[str, object]:
        """``{"dayfirst": ...}`` or ``{"date_format": ...}`` for ``table`` ({} for automatic)."""
        own = self.dates.get(table)
        if isinstance(own, dict) and own:
            return own
        return {k: v for k, v in self.dates.items() if k in DATE_KEYS}

    def with_columns(self, table: str, names: dict[str, str]) -> CRMMapping:
        """A copy with ``names`` (contract column -> header) added under ``[columns.table]``."""
        columns = {t: dict(c) for t, c in self.columns.items()}
        columns.setdefault(table, {}).update(names)
        return CRMMapping(self.tables, columns, self.values, self.dates, self.source, self.pipeline)

    def to_toml(self, *, unknown_values: dict[str, list[str]] | None = None) -> str:
        """The mapping as TOML for ``crm_mapping.toml``; ``unknown_values`` become commented
        value-map lines for the user to complete."""

        def s(text) -> str:
            return json.dumps(str(text), ensure_ascii=False)  # a JSON string is a TOML string

        lines = [
            "# Mapping for read_crm(folder, mapping=...): contract name = your export's name",
            "",
        ]
        if self.tables:
            lines += ["[tables]", *(f"{t} = {s(v)}" for t, v in self.tables.items()), ""]
        for table in TABLES:
            names = self.columns.get(table)
            if names:
                lines += [f"[columns.{table}]", *(f"{c} = {s(h)}" for c, h in names.items()), ""]
        unknown = unknown_values or {}
        for column in VOCABULARIES:
            known = self.values.get(column, {})
            todo = [v for v in unknown.get(column, []) if _key(v) not in map(_key, known)]
            if not known and not todo:
                continue
            lines.append(f"[values.{column}]")
            lines += [f"{s(k)} = {s(v)}" for k, v in known.items()]
            if todo:
                lines.append(f"# one of: {', '.join(self.vocabulary(column))}")
                lines += [f'# {s(v)} = ""' for v in todo]
            lines.append("")
        scalar = {k: v for k, v in self.dates.items() if k in DATE_KEYS}
        lines.append("[dates]")
        if scalar:
            lines += [f"{k} = {_toml_value(v)}" for k, v in scalar.items()]
        else:
            lines += [
                "# dayfirst = true             # dates written 31/12/2024",
                '# date_format = "%d.%m.%Y"    # or one explicit format (Python strftime codes)',
            ]
        for table, option in self.dates.items():
            if isinstance(option, dict):
                lines += ["", f"[dates.{table}]"]
                lines += [f"{k} = {_toml_value(v)}" for k, v in option.items()]
        if self.pipeline:
            lines += ["", "[pipeline]"]
            lines += [f"{k} = [{', '.join(map(s, v))}]" for k, v in self.pipeline.items()]
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict:
        """The sections as a plain dict (what :func:`load_mapping` accepts)."""
        out = {"tables": self.tables, "columns": self.columns, "values": self.values}
        return {
            **{k: v for k, v in out.items() if v},
            **({"dates": self.dates} if self.dates else {}),
            **(
                {"pipeline": {k: list(v) for k, v in self.pipeline.items()}}
                if self.pipeline
                else {}
            ),
        }


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(str(value), ensure_ascii=False)


def load_mapping(mapping=None, folder=None) -> CRMMapping:
    """A :class:`CRMMapping` from a dict, a TOML file path or a mapping; with ``None``, the
    ``crm_mapping.toml`` in ``folder`` when there is one, else an empty mapping.

    Raises
    ------
    DataError
        For a file that is not TOML, an unknown section, table or column, a value mapped to a
        value outside the contract's vocabulary, or a date option that is not one.
    """
    if isinstance(mapping, CRMMapping):
        return mapping
    if mapping is None:
        if folder is None or not (Path(folder) / MAPPING_FILE).is_file():
            return CRMMapping()
        mapping = Path(folder) / MAPPING_FILE
    if isinstance(mapping, (str, Path)):
        path = Path(mapping)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise DataError(f"{path}: the mapping file cannot be read ({exc})") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DataError(
                f"{path}: the mapping is not valid TOML ({exc}); quote names with spaces, "
                'such as lead_id = "Lead ID"'
            ) from exc
        return _from_dict(raw, str(path))
    if isinstance(mapping, dict):
        return _from_dict(mapping, "the mapping dict")
    raise TypeError(f"mapping must be a dict or a TOML file path, got {type(mapping).__name__}")


def _from_dict(raw: dict, source: str) -> CRMMapping:
    bad: list[str] = []

    def section(name) -> dict:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            bad.append(f"[{name}] must be a table of names, got {value!r}")
            return {}
        return value

    bad += [
        f"unknown section [{k}]; sections: {', '.join(SECTIONS)}" for k in raw if k not in SECTIONS
    ]
    tables = {}
    for table, name in section("tables").items():
        if table not in TABLES:
            bad.append(f"[tables]: {table!r} is not a table; tables: {', '.join(TABLES)}")
        elif not isinstance(name, str) or not name.strip():
            bad.append(f"[tables] {table} must name a file or a sheet, got {name!r}")
        else:
            tables[table] = name
    columns: dict[str, dict[str, str]] = {}
    for table, names in section("columns").items():
        if table not in TABLES:
            bad.append(f"[columns.{table}]: not a table; tables: {', '.join(TABLES)}")
            continue
        if not isinstance(names, dict):
            bad.append(f'[columns.{table}] must be a table of column = "header" lines')
            continue
        contract = TABLES[table].column_names
        for col, header in names.items():
            if col not in contract:
                bad.append(
                    f"[columns.{table}]: {col!r} is not a column; columns: {', '.join(contract)}"
                )
            elif not isinstance(header, str) or not header.strip():
                bad.append(f"[columns.{table}] {col} must name a header, got {header!r}")
        doubled = sorted({h for h in names.values() if list(names.values()).count(h) > 1})
        if doubled:
            bad.append(f"[columns.{table}]: header(s) {doubled} named for more than one column")
        columns[table] = {c: h for c, h in names.items() if c in contract and isinstance(h, str)}
    pipeline: dict[str, tuple[str, ...]] = {}
    for key, names in section("pipeline").items():
        if key not in OPEN_VOCABULARIES.values():
            bad.append(f"[pipeline]: {key!r} is neither stages nor lead_types")
        elif (
            not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) and n.strip() for n in names)
        ):
            bad.append(f'[pipeline] {key} must be a list of names, such as ["lead", "customer"]')
        elif len({_key(n) for n in names}) != len(names):
            bad.append(f"[pipeline] {key} names a value twice: {names}")
        else:
            pipeline[key] = tuple(n.strip() for n in names)
    values: dict[str, dict[str, str]] = {}
    for column, pairs in section("values").items():
        vocabulary = VOCABULARIES.get(column)
        if column in OPEN_VOCABULARIES:  # your own names, or the declared pipeline's
            vocabulary = pipeline.get(OPEN_VOCABULARIES[column])
        if column not in VOCABULARIES:
            bad.append(f"[values.{column}]: values can be mapped for {', '.join(VOCABULARIES)}")
            continue
        if not isinstance(pairs, dict):
            bad.append(
                f'[values.{column}] must be a table of "Export value" = "{VOCABULARIES[column][0]}"'
            )
            continue
        wrong = {
            k: v
            for k, v in pairs.items()
            if (v not in vocabulary if vocabulary else not (isinstance(v, str) and v.strip()))
        }
        bad += [
            f"[values.{column}]: {k!r} maps to {v!r}, which is not one of "
            + (", ".join(vocabulary) if vocabulary else "a non-empty name")
            for k, v in wrong.items()
        ]
        values[column] = {str(k): v for k, v in pairs.items() if k not in wrong}
    dates: dict[str, object] = {}
    for key, value in section("dates").items():
        if key in DATE_KEYS:
            dates[key] = value
        elif key in TABLES and isinstance(value, dict):
            dates[key] = dict(value)
        else:
            bad.append(f"[dates]: {key!r} is neither dayfirst, date_format nor a table")
    for scope, option in [
        ("dates", dates),
        *((f"dates.{t}", o) for t, o in dates.items() if isinstance(o, dict)),
    ]:
        own = {k: v for k, v in option.items() if not isinstance(v, dict)}
        bad += _date_option_problems(scope, own)
    if bad:
        raise DataError(
            f"{source}: the mapping has {len(bad)} problem(s):\n"
            + "\n".join(f"- {b}" for b in bad),
            [f"{source}: {b}" for b in bad],
        )
    return CRMMapping(tables, columns, values, dates, source, pipeline)


def _date_option_problems(scope: str, option: dict) -> list[str]:
    out = [
        f"[{scope}]: {k!r} is not a date option (dayfirst, date_format)"
        for k in option
        if k not in DATE_KEYS
    ]
    if "dayfirst" in option and not isinstance(option["dayfirst"], bool):
        out.append(f"[{scope}] dayfirst must be true or false, got {option['dayfirst']!r}")
    if "dayfirst" in option and "date_format" in option:
        out.append(f"[{scope}]: set dayfirst or date_format, not both")
    fmt = option.get("date_format")
    if fmt is not None:
        sample = pd.Timestamp("2024-10-23 13:45:56")
        try:
            ok = (
                isinstance(fmt, str)
                and "%" in fmt
                and pd.to_datetime(sample.strftime(fmt), format=fmt) is not None
            )
        except (TypeError, ValueError):
            ok = False
        if not ok:
            out.append(
                f"[{scope}] date_format {fmt!r} is not a date format; use strftime codes, "
                'such as "%d/%m/%Y" or "%d.%m.%Y %H:%M"'
            )
    return out


# --------------------------------------------------------------------------------------------
# applying a mapping to the frames read


@dataclass
class Mapped:
    """Frames with the contract's names, what was done to them and what could not be done."""

    frames: dict[str, pd.DataFrame | None]
    notes: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unknown_values: dict[str, list[str]] = field(default_factory=dict)


def apply_mapping(frames: dict, mapping: CRMMapping, files: dict[str, str] | None = None) -> Mapped:
    """Rename columns, map and normalise values and parse dates as ``mapping`` says.

    ``frames`` are the tables as read (``None`` for an absent one), ``files`` the file each
    came from (for messages). The input frames are not modified.
    """
    files = files or {}
    out = Mapped({})
    for table, frame in frames.items():
        if frame is None:
            out.frames[table] = None
            continue
        where = files.get(table, table)
        frame = _rename(table, frame, mapping, where, out)
        frame = _map_values(table, frame, mapping, out)
        out.frames[table] = _parse_dates(table, frame, mapping, out)
    return out


def _rename(table, frame, mapping, where, out: Mapped) -> pd.DataFrame:
    names = mapping.columns.get(table, {})
    if not names:
        return frame
    headers = [str(c) for c in frame.columns]
    by_key = {}
    for h in headers:
        by_key.setdefault(_key(h), h)
    renames, missing = {}, []
    for col, header in names.items():
        found = header if header in headers else by_key.get(_key(header))
        if found is None:
            missing.append(f"{col} = {header!r}")
        elif found != col:
            renames[found] = col
    if missing:
        out.problems.append(
            f"{where}: the mapping ({mapping.source}) names header(s) the file does not have "
            f"({', '.join(missing)}); headers: {headers}; correct them under [columns.{table}] "
            f"or {CHECK_HINT}"
        )
    clash = [c for c in renames.values() if c in headers and c not in renames]
    if clash:
        out.problems.append(
            f"{where}: column(s) {clash} are in the file and also mapped from another header; "
            "drop one of the two or map the other"
        )
        renames = {h: c for h, c in renames.items() if c not in clash}
    if renames:
        shown = ", ".join(f"{h!r} as {c}" for h, c in renames.items())
        out.notes.append((table, f"columns read under the mapping's names: {shown}"))
    return frame.rename(columns=renames)


def _map_values(table, frame, mapping, out: Mapped) -> pd.DataFrame:
    changes = {}
    for column in VOCABULARIES:
        if column not in frame.columns:
            continue
        vocabulary = mapping.vocabulary(column)
        raw = frame[column]
        if not (pd.api.types.is_string_dtype(raw.dtype) or raw.dtype == object):
            continue
        mapped = {_key(k): v for k, v in mapping.values.get(column, {}).items()}
        canonical = {_key(v): v for v in vocabulary}
        lookup, by_map, by_case, unknown = {}, [], [], []
        for value in pd.unique(raw.dropna()):
            if not isinstance(value, str) or not value.strip():
                continue
            key = _key(value)
            target = mapped.get(key, canonical.get(key))
            if target is None:
                unknown.append(value)
            elif target != value:
                lookup[value] = target
                (by_map if key in mapped else by_case).append(value)
        if unknown and mapping.closed(column):  # open: the export's own names, kept as they are
            out.unknown_values.setdefault(column, []).extend(
                v for v in unknown if v not in out.unknown_values.get(column, [])
            )
        if not lookup:
            continue
        changes[column] = raw.replace(lookup)
        counts = raw.value_counts()
        for kind, values in (
            ("mapped by the mapping", by_map),
            ("matched ignoring case and spaces", by_case),
        ):
            if values:
                shown = ", ".join(f"{v!r} as {lookup[v]} ({counts[v]:,})" for v in values[:8])
                more = f" and {len(values) - 8} more" if len(values) > 8 else ""
                out.notes.append((table, f"{column} values {kind}: {shown}{more}"))
    return frame.assign(**changes) if changes else frame


def _parse_dates(table, frame, mapping, out: Mapped) -> pd.DataFrame:
    option = mapping.date_option(table)
    if not option:
        return frame
    spec = TABLES[table]
    ids = (
        frame[spec.id_col]
        if spec.id_col in frame.columns
        else pd.Series(frame.index, index=frame.index)
    )
    told = (
        f"date_format {option['date_format']!r}" if "date_format" in option else "dayfirst = true"
    )
    changes = {}
    for col in spec.columns:
        if col.kind != "datetime" or col.name not in frame.columns:
            continue
        raw = frame[col.name]
        if pd.api.types.is_datetime64_any_dtype(raw.dtype):
            continue
        parsed, bad = parse_dates_as_told(raw, option)
        if bad.any():
            pairs = [
                f"{spec.id_col} {i}: {v!r}"
                for i, v in zip(
                    ids[bad].head(EXAMPLES_SHOWN), raw[bad].head(EXAMPLES_SHOWN), strict=True
                )
            ]
            out.problems.append(
                f"{table}.{col.name}: {int(bad.sum()):,} row(s) with a date that does not parse "
                f"with {told} ({mapping.source}): {', '.join(pairs)}; correct those values, or "
                "change the [dates] option of the mapping"
            )
        else:
            changes[col.name] = parsed
    if changes:
        out.notes.append((table, f"dates read with {told}: {', '.join(changes)}"))
    return frame.assign(**changes) if changes else frame


def parse_dates_as_told(raw: pd.Series, option: dict) -> tuple[pd.Series, pd.Series]:
    """``raw`` parsed with ``{"dayfirst": True}`` or ``{"date_format": fmt}``: the values as
    naive UTC ``datetime64[us]`` and the mask of non-empty values that do not parse.

    Day-first tries ISO 8601 and the day-first forms of :data:`toolkit.date_parsing.DATE_FORMATS`
    value by value (they never read one text two ways); date objects (from Excel) stay as they are.
    """
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
    if pd.api.types.is_string_dtype(raw.dtype):
        is_text = raw.notna()
    else:  # an object column from a workbook: text and date cells mixed
        is_text = pd.Series([isinstance(v, str) for v in raw], index=raw.index, dtype=bool)
    text = raw.where(is_text, "").astype("str").str.strip()
    empty = raw.isna() | (is_text & (text == ""))
    objects = ~is_text & ~empty
    if objects.any():
        try:
            stamps = pd.to_datetime(raw[objects], errors="coerce", utc=True, format="mixed")
        except (TypeError, ValueError, OverflowError):
            stamps = pd.Series(pd.NaT, index=raw.index[objects], dtype="datetime64[us, UTC]")
        out[objects] = naive_utc_column(stamps).to_numpy()
    if option.get("dayfirst") is False:
        formats = [f for f in DATE_FORMATS if "%d/%m" not in f]
    elif "date_format" in option:
        formats = [option["date_format"]]
    else:
        formats = [f for f in DATE_FORMATS if "%m/%d" not in f]
    todo = is_text & ~empty
    for fmt in formats:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce", utc=True)
        hit = parsed.notna()
        out[parsed.index[hit]] = naive_utc_column(parsed[hit]).to_numpy()
        todo = todo & out.isna()
    return out, ~empty & out.isna()
