"""Reading an export's text as the contract keeps it: dates (naive UTC, one format per column,
refusing what would be read wrong) and true/false values. :func:`toolkit.validate` parses every
column through these; :mod:`toolkit.mapping` parses dates as a mapping's ``[dates]`` tells it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# One explicit format is chosen per column over all its values (pandas would guess from the
# first row, so a US date on top made every ISO row "not parse"). ISO 8601 covers dates, times,
# fractions and UTC offsets; the day-first and month-first forms are told apart by the values.
DATE_FORMATS = (
    "ISO8601",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
)
_SWAPPED = {"%m/%d": "%d/%m", "%d/%m": "%m/%d"}
_NUMBER_TEXT = r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*"
_UTC_OFFSET = r"(?:Z|[+-]\d\d:?\d\d)\s*$"
_NOT_DATES = "that are numbers, not dates (epoch seconds?)"
DATE_FIX = "write dates as text such as 2025-01-31 or 2025-01-31 14:05:00 (ISO 8601)"


@dataclass
class ParsedColumn:
    """A parsed column and the problems found on the way: (what, mask, show values, fix).

    Attributes
    ----------
    values : pandas.Series
        The parsed column.
    issues : list of tuple
        ``(what, mask of the rows, whether to show their values, the fix)`` for each problem.
    """

    values: pd.Series
    issues: list[tuple[str, pd.Series, bool, str]] = field(default_factory=list)


def naive_utc_column(values: pd.Series) -> pd.Series:
    """A datetime column as the contract keeps it: UTC without a time zone, microseconds."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.astype("datetime64[us]")


def _matches(text: pd.Series, pattern: str) -> pd.Series:
    """Rows of ``text`` matching the regex ``pattern`` (Arrow's RE2: pandas loops in Python)."""
    found = pc.match_substring_regex(pa.array(text, type=pa.string(), from_pandas=True), pattern)
    return pd.Series(found.fill_null(False).to_numpy(zero_copy_only=False), index=text.index)


def _parse_mixed_objects(raw: pd.Series, empty: pd.Series) -> ParsedColumn:
    """An object column mixing text, numbers and date objects: each kind parsed by its rule."""
    kind = raw.map(
        lambda v: (
            "text" if isinstance(v, str) else "number" if isinstance(v, (int, float)) else "object"
        ),
        na_action="ignore",
    )
    text, numbers = (kind == "text").to_numpy(), ((kind == "number") & ~empty).to_numpy()
    objects = ((kind == "object") & ~empty).to_numpy()
    sub = parse_datetime(
        raw.where(text, "").astype("str"), pd.Series(~text | empty.to_numpy(), index=raw.index)
    )
    parsed = sub.values.copy()
    if objects.any():
        try:
            stamps = pd.to_datetime(raw[objects], errors="coerce", utc=True, format="mixed")
        except (TypeError, ValueError, OverflowError):
            stamps = pd.Series(pd.NaT, index=raw.index[objects], dtype="datetime64[us, UTC]")
        parsed[objects] = naive_utc_column(stamps).to_numpy()
    return ParsedColumn(
        parsed,
        [
            *sub.issues,
            (_NOT_DATES, numbers, True, DATE_FIX),
            ("with a date that does not parse", objects & parsed.isna().to_numpy(), True, DATE_FIX),
        ],
    )


def parse_datetime(raw: pd.Series, empty: pd.Series) -> ParsedColumn:
    """``raw`` as naive UTC ``datetime64[us]``, refusing what would be read wrong.

    Numbers are refused (``to_datetime`` would read epoch seconds as nanoseconds after 1970);
    text is parsed with the one format of :data:`DATE_FORMATS` that fits most values, UTC
    offsets converted to UTC (a column may mix offsets, not offsets and none).
    """
    if isinstance(raw.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(raw.dtype):
        return ParsedColumn(naive_utc_column(raw))
    nat = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
    if pd.api.types.is_bool_dtype(raw.dtype) or pd.api.types.is_numeric_dtype(raw.dtype):
        numbers = raw.notna().to_numpy()
        return ParsedColumn(nat, [(_NOT_DATES, numbers, True, DATE_FIX)])
    if pd.api.types.infer_dtype(raw, skipna=True) not in ("string", "empty"):
        return _parse_mixed_objects(raw, empty)
    text = raw.astype("str").str.strip()
    numbers = _matches(text, f"^{_NUMBER_TEXT}$") & ~empty
    todo = ~empty & ~numbers
    issues = [(_NOT_DATES, numbers, True, DATE_FIX)]
    if not todo.any():
        return ParsedColumn(nat, issues)
    candidates = text[todo]
    best, best_fmt, best_count = None, None, -1
    counts = {}
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(candidates, format=fmt, errors="coerce", utc=True)
        count = int(parsed.notna().sum())
        counts[fmt] = count
        if count > best_count:
            best, best_fmt, best_count = parsed, fmt, count
        if count == len(candidates):
            break
    out = nat.copy()
    out[todo] = naive_utc_column(best).to_numpy()
    swapped = next((best_fmt.replace(a, b) for a, b in _SWAPPED.items() if a in best_fmt), None)
    if swapped is not None and swapped not in counts:
        counts[swapped] = int(pd.to_datetime(candidates, format=swapped, errors="coerce").count())
    if swapped is not None and counts[swapped] == best_count:
        # every value reads both ways (no day above 12): choosing one would be a silent guess
        issues.append(
            (
                f"with a date that reads as month/day and as day/month ({best_fmt} or {swapped})",
                todo,
                True,
                "say which: set dayfirst = true (or date_format = "
                f'"{best_fmt if best_fmt.startswith("%d") else swapped}") under [dates] in '
                "crm_mapping.toml, or pass mapping={'dates': {'dayfirst': True}} to read_crm",
            )
        )
        return ParsedColumn(nat, issues)
    unparsed = todo & out.isna()
    most = "ISO 8601" if best_fmt == "ISO8601" else best_fmt
    fix = f"the other rows are {most}; {DATE_FIX}" if best_count else DATE_FIX
    issues.append(("with a date that does not parse", unparsed, True, fix))
    offset = _matches(text, _UTC_OFFSET) & todo & ~unparsed
    if offset.any() and not offset[todo & ~unparsed].all():
        naive = todo & ~unparsed & ~offset
        issues.append(
            (
                f"without a UTC offset while {int(offset.sum()):,} rows have one (which zone?)",
                naive,
                True,
                "give every value of the column an offset (such as +02:00 or Z), or none",
            )
        )
    return ParsedColumn(out, issues)


_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def to_bool(values: pd.Series) -> pd.Series:
    """True/false text (``yes``, ``t``, ``1``, ...) as booleans; anything else as missing."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values
    text = values.astype("str").str.strip().str.lower()
    return text.map(lambda v: True if v in _TRUE else False if v in _FALSE else None)
