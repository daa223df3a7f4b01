"""The data contract: a CRM export as four tables (plus an optional role history) and ``as_of``.

=============  ===================================  ========================================
table          one row per                          columns (required first)
=============  ===================================  ========================================
leads          person who entered the funnel        lead_id, created_at, source, lead_type,
                                                    cost, owner_id
events         stage a lead reached                 lead_id, stage, at
members        customer or rep in the organisation  member_id, sponsor_id, joined_at, role,
                                                    left_at, lead_id
orders         purchase                             order_id, member_id, ordered_at, amount,
                                                    volume, autoship
role_history   role a member took on (optional)     member_id, role, from_at
=============  ===================================  ========================================

Empty values are allowed only where the contract says so: ``owner_id`` (a lead nobody works
yet), ``sponsor_id`` (a root of the genealogy), ``left_at`` (still active) and ``members.lead_id``
(a member who did not come through a tracked lead). Extra columns are kept as they are.

Optional pieces may be absent altogether (:data:`OPTIONAL_COLUMNS`): the columns ``cost``,
``owner_id``, ``sponsor_id`` and ``left_at``, the ``orders`` and ``role_history`` tables, and
``leads`` with ``events`` when there are orders (orders-only data). A computation that needs a
missing piece raises a :class:`DataError` saying what is missing and what it would show.

Stages and lead types are the export's own: :data:`STAGES` and :data:`LEAD_TYPES` are the
sample's (and the notebooks' defaults). ``CRMData.stages`` / ``CRMData.lead_types`` declare a
pipeline's order and categories; :func:`validate` then refuses values outside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.date_parsing import (  # DATE_FIX, DATE_FORMATS, naive_utc_column: still here
    DATE_FIX,  # noqa: F401
    DATE_FORMATS,  # noqa: F401
    naive_utc_column,  # noqa: F401
    parse_datetime,
    to_bool,
)
from toolkit.problems import EXAMPLES_SHOWN, DataError, Problems, problem_line  # noqa: F401

STAGES = ("contact", "lead", "prospect", "customer", "rep", "leader")  # the sample's pipeline
LEAD_TYPES = ("unqualified", "generic", "qualified")  # the sample's lead types
ROLES = ("retail_customer", "preferred_customer", "retailer", "business_builder", "leader")
CUSTOMER_ROLES = ("retail_customer", "preferred_customer")
REP_ROLES = ("retailer", "business_builder", "leader")

NOT_SHOWN = "—"  # how a table on a page shows a value that is not there (never "NaN")
CHECK_HINT = "run `python -m toolkit check EXPORT_FOLDER` to propose a mapping from the headers"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "id", "text", "category", "datetime", "number" or "bool"
    nullable: bool = False
    values: tuple[str, ...] | None = None  # the vocabulary of a "category" column
    minimum: float | None = None
    open: bool = False  # a "category" whose values are the export's own (values: the default)
    shows: str = ""  # for a column that may be absent: what it would show


@dataclass(frozen=True)
class Table:
    name: str
    id_col: str  # the column that names a row in error messages
    columns: tuple[Column, ...]
    unique_id: bool = True

    @property
    def column_names(self) -> list[str]:
        return [col.name for col in self.columns]

    def empty(self) -> pd.DataFrame:
        """A frame with no rows and the contract's columns and dtypes."""
        dtypes = {
            "id": "str",
            "text": "str",
            "category": "str",
            "datetime": "datetime64[us]",
            "number": "float64",
            "bool": "bool",
        }
        return pd.DataFrame({c.name: pd.Series(dtype=dtypes[c.kind]) for c in self.columns})


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "leads",
            "lead_id",
            (
                Column("lead_id", "id"),
                Column("created_at", "datetime"),
                Column("source", "text"),
                Column("lead_type", "category", values=LEAD_TYPES, open=True),
                Column(
                    "cost",
                    "number",
                    minimum=0,
                    shows="cost per lead and per customer, and the lead budget",
                ),
                Column(
                    "owner_id", "id", nullable=True, shows="funnels and lead quality by lead owner"
                ),
            ),
        ),
        Table(
            "events",
            "lead_id",
            (
                Column("lead_id", "id"),
                Column("stage", "category", values=STAGES, open=True),
                Column("at", "datetime"),
            ),
            unique_id=False,
        ),
        Table(
            "members",
            "member_id",
            (
                Column("member_id", "id"),
                Column(
                    "sponsor_id",
                    "id",
                    nullable=True,
                    shows="the genealogy: downlines, sponsor trees, recruiting by sponsor",
                ),
                Column("joined_at", "datetime"),
                Column("role", "category", values=ROLES),
                Column(
                    "left_at",
                    "datetime",
                    nullable=True,
                    shows="who left and when: retention, active members, churn",
                ),
                Column("lead_id", "id", nullable=True),
            ),
        ),
        Table(
            "orders",
            "order_id",
            (
                Column("order_id", "id"),
                Column("member_id", "id"),
                Column("ordered_at", "datetime"),
                Column("amount", "number", minimum=0),
                Column("volume", "number", minimum=0),
                Column("autoship", "bool"),
            ),
        ),
        Table(
            "role_history",
            "member_id",
            (
                Column("member_id", "id"),
                Column("role", "category", values=ROLES),
                Column("from_at", "datetime"),
            ),
            unique_id=False,
        ),
    )
}
REQUIRED_TABLES = ("leads", "events", "members")
OPTIONAL_TABLES = ("orders", "role_history")
LEAD_TABLES = ("leads", "events")  # may be absent together for orders-only data
OPTIONAL_COLUMNS = {
    (t.name, c.name): c.shows for t in TABLES.values() for c in t.columns if c.shows
}
# What each table that may be absent would show (for the DataError of a computation needing it).
TABLE_SHOWS = {
    "leads": "the funnel, lead quality and the lead budget",
    "events": "the funnel, lead quality and the lead budget",
    "orders": "revenue, volume, autoship and paying customers",
    "role_history": "role transitions and the role mix over time",
}


def missing_piece(table: str, columns=()) -> str:
    """The sentence for a piece of the export that is absent: what is missing and what it
    would show (``columns`` empty: the whole table)."""
    if not columns:
        return (
            f"the export has no {table} table (or it has no rows); it is optional, and it "
            f"would show {TABLE_SHOWS.get(table, 'more')}"
        )
    shows = [OPTIONAL_COLUMNS[(table, c)] for c in columns if (table, c) in OPTIONAL_COLUMNS]
    return f"{table} has no column {', '.join(columns)}" + (
        f"; it is optional, and it would show {'; '.join(shows)}" if shows else ""
    )


@dataclass(frozen=True, repr=False)
class CRMData:
    """A CRM export: four pandas tables and ``as_of``, the moment the export was taken.

    Every censoring decision (in progress, incomplete cohort cell, still active) is taken against
    ``as_of``. ``role_history`` is optional: one row per role a member took on, from when;
    ``orders`` may be None (no orders), and ``leads`` and ``events`` may be None when there are
    orders (orders-only data). ``stages`` and ``lead_types``, when given, declare the
    pipeline's stages in order and the lead types (read from ``[pipeline]`` in the mapping);
    None: the values found in the data.
    Build one by hand or with :func:`toolkit.read_crm`, then check it with :func:`toolkit.validate`.
    """

    leads: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    members: pd.DataFrame | None = None
    orders: pd.DataFrame | None = field(default_factory=TABLES["orders"].empty)
    as_of: pd.Timestamp | None = None
    role_history: pd.DataFrame | None = None
    notes: tuple[tuple[str, str], ...] = ()  # (table, how it was read): set by read_crm
    stages: tuple[str, ...] | None = None
    lead_types: tuple[str, ...] | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables present, by name (a table that is None is left out)."""
        names = (*REQUIRED_TABLES, *OPTIONAL_TABLES)
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def has(self, table: str, column: str | None = None) -> bool:
        """Whether the export has ``table`` with rows (and ``column`` in it, when given)."""
        frame = getattr(self, table, None)
        if frame is None or not hasattr(frame, "columns") or not len(frame):
            return False
        return column is None or column in frame.columns

    def lacks(self, table: str, *columns: str) -> str | None:
        """What is missing of ``table`` (with rows) and ``columns``, and what it would show, as
        a sentence; None when nothing is."""
        if not self.has(table):
            return missing_piece(table)
        absent = [c for c in columns if c not in getattr(self, table).columns]
        return missing_piece(table, absent) if absent else None

    def require(self, table: str, *columns: str) -> pd.DataFrame:
        """``table`` when the export has it with rows and ``columns``; otherwise a
        :class:`DataError` saying what is missing and what it would show."""
        gap = self.lacks(table, *columns)
        if gap:
            raise DataError(gap)
        return getattr(self, table)

    @property
    def summary(self) -> pd.DataFrame:
        """Rows and columns per table, and how :func:`toolkit.read_crm` read it (columns and
        values mapped, values matched ignoring case and spaces, delimiter, encoding)."""
        notes = {}
        for table, note in self.notes:
            notes.setdefault(table, []).append(note)
        return pd.DataFrame(
            [
                (name, len(frame), len(frame.columns), "; ".join(notes.get(name, [])))
                for name, frame in self.tables().items()
            ],
            columns=["table", "rows", "columns", "read"],
        ).set_index("table")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(frame):,}" for name, frame in self.tables().items())
        return f"CRMData({sizes}, as_of={self.as_of})"

    def _repr_html_(self) -> str:
        return f"<p><b>CRMData</b> as of {self.as_of}</p>" + self.summary.to_html()


# --------------------------------------------------------------------------------------------
# validation


def _normalise_table(
    table: Table, frame: pd.DataFrame, problems: Problems, declared: dict | None = None
) -> pd.DataFrame | None:
    """A copy with parsed columns; None when required columns are missing (nothing else checks).

    Optional columns (``Column.shows``) may be absent. An open category column takes any
    value unless ``declared`` gives its values (a pipeline declared)."""
    if not isinstance(frame, pd.DataFrame):
        problems.note(f"{table.name}: expected a pandas DataFrame, got {type(frame).__name__}")
        return None
    declared = declared or {}
    missing = [c.name for c in table.columns if c.name not in frame.columns and not c.shows]
    if missing:
        problems.note(
            f"{table.name}: missing required column(s) {missing}; "
            f"columns present: {list(map(str, frame.columns))}; map your export's names in "
            f"crm_mapping.toml, or {CHECK_HINT}"
        )
        return None
    out = frame.copy()
    ids = out[table.id_col] if table.id_col in out else pd.Series(out.index, name="row")
    for col in table.columns:
        if col.name not in out.columns:
            continue  # an optional column the export does not have
        raw = out[col.name]
        textual = pd.api.types.is_string_dtype(raw.dtype) or raw.dtype == object
        empty = raw.isna() | (raw.astype("str").str.strip() == "") if textual else raw.isna()
        if col.kind == "datetime":
            result = parse_datetime(raw, empty)
            parsed = result.values
            for what, bad, show, fix in result.issues:
                problems.add(table.name, col.name, what, bad, ids, raw if show else None, fix)
        elif col.kind == "number":
            parsed = pd.to_numeric(raw, errors="coerce").astype("float64")
            problems.add(
                table.name, col.name, "that are not numbers", parsed.isna() & ~empty, ids, raw
            )
        elif col.kind == "bool":
            parsed = to_bool(raw)
            problems.add(
                table.name, col.name, "that are not true/false", parsed.isna() & ~empty, ids
            )
            parsed = parsed.astype("bool") if not parsed.isna().any() else parsed
        elif col.kind == "category":
            parsed = raw.where(~empty, None)  # a blank is empty, not outside the vocabulary
            vocabulary = declared.get(col.name) if col.open else None
            unknown = ~raw.isin(vocabulary or ()) & ~empty
            if vocabulary is not None and unknown.any():
                seen = ", ".join(map(repr, pd.unique(raw[unknown])[:EXAMPLES_SHOWN]))
                problems.add(
                    table.name,
                    col.name,
                    f"outside the pipeline declared ({seen}); valid values: {', '.join(vocabulary)}",
                    unknown,
                    ids,
                    fix=f"or map yours under [values.{col.name}] in crm_mapping.toml, such as "
                    f'"Yours" = "{vocabulary[0]}" (or add them under [pipeline])',
                )
        else:
            parsed = raw.where(~empty, None) if textual else raw
        if not col.nullable:
            problems.add(table.name, col.name, "empty (the column is required)", empty, ids)
        out[col.name] = parsed
    _shared_checks(table, out, ids, problems)
    if table.unique_id:
        dup = out[table.id_col].duplicated(keep=False) & out[table.id_col].notna()
        problems.add(table.name, table.id_col, "with a duplicate id", dup, out[table.id_col])
    return out


def _shared_checks(table: Table, frame: pd.DataFrame, ids: pd.Series, problems) -> None:
    """The vocabulary, minimum and finite rules of :func:`toolkit.checks.contract_checks` on
    parsed columns."""
    import narwhals as nw

    from toolkit.checks import contract_checks  # lazily: checks builds on this module

    # an optional column may be absent (cost, owner_id, ...): only those present are checked
    kept = [c for c in table.columns if c.kind in ("category", "number") and c.name in frame]
    names = [c.name for c in kept]
    native = pd.DataFrame({name: frame[name] for name in names}).reset_index(drop=True)
    native = native.astype({c.name: "str" for c in kept if c.kind == "category"})
    wrapped = nw.from_native(native, eager_only=True)
    dtypes = dict(wrapped.schema)
    for check in contract_checks(table.name, names, dtypes):
        if check.kind == "required":
            continue
        bad = wrapped.select(check.bad.alias("_bad"))["_bad"].to_numpy().astype(bool)
        values = frame[check.column]
        seen = ", ".join(map(repr, pd.unique(values[bad])[:EXAMPLES_SHOWN]))
        show = None if check.kind == "vocabulary" else values
        problems.add(table.name, check.column, check.what.format(seen=seen), bad, ids, show)


def isin(values: pd.Series, known: pd.Series) -> np.ndarray:
    """``values.isin(known)`` as a numpy mask, with Arrow's hash kernel (pandas' Arrow-string isin loops in Python)."""
    try:
        found = pc.is_in(
            pa.array(values, from_pandas=True), value_set=pa.array(known.dropna().unique())
        )
        return found.to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return values.isin(known).to_numpy()  # mixed types: pandas compares them one by one


def _unknown_reference(problems, table, column, frame, ids_col, known, what) -> None:
    values = frame[column]
    bad = values.notna() & ~isin(values, known)
    problems.add(table, column, f"referring to {what}", bad, frame[ids_col])


def sponsor_loops(member_ids: pd.Series, sponsor_ids: pd.Series) -> np.ndarray:
    """Mask of members whose sponsor chain never reaches a root: they sit on a cycle or below one.

    Pointer jumping: each pass doubles how far every member has looked up its chain, so
    ``log2(n)`` vectorised passes decide for a million members without a loop per member.
    Sponsors not in ``member_ids`` count as roots here (they are reported separately).
    """
    n = len(member_ids)
    parent = pd.Index(member_ids).get_indexer(sponsor_ids)
    parent = np.where(parent < 0, n, parent)  # index n is a virtual root that points to itself
    parent = np.append(parent, n)
    for _ in range(max(1, int(np.ceil(np.log2(n + 1))) + 1)):
        parent = parent[parent]
    return parent[:n] != n


def parse_as_of(value) -> pd.Timestamp:
    """``value`` as a naive UTC timestamp, or a :class:`DataError` saying why it is not one.

    An empty, ``NaT`` or unparsable ``as_of`` is refused (with ``NaT`` no "after as_of" check
    could run), and so is a bare number (``pd.Timestamp(1735689600)`` is 1970 plus nanoseconds).
    """
    fix = "pass the moment the export was taken, such as '2025-06-30' or pd.Timestamp('2025-06-30')"
    if isinstance(value, (bool, int, float, np.number)) and not pd.isna(value):
        raise DataError(f"as_of={value!r} is a number, not a date; {fix}")
    try:
        out = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DataError(f"as_of={value!r} is not a date ({exc}); {fix}") from exc
    if pd.isna(out):
        raise DataError(f"as_of={value!r} is empty; {fix}, or None for the latest timestamp")
    if out.tzinfo is not None:
        out = out.tz_convert("UTC").tz_localize(None)
    return out


def validate(data: CRMData) -> CRMData:
    """Check ``data`` against the contract and return a normalised copy.

    The copy has parsed timestamps (``datetime64[us]``, timezone-aware ones converted to UTC),
    numbers as floats, ``autoship`` as bool, and ``as_of`` set (the latest timestamp in the data
    when it was None). Input frames are never modified and no row is dropped.

    Raises
    ------
    DataError
        Listing every problem found: missing tables and required columns (optional ones may
        be absent), dates that do not parse, roles outside the vocabulary and stages or lead
        types outside those declared (with the valid values), negative costs or amounts, duplicate ids, events
        for unknown leads, orders for unknown members, unknown sponsors, sponsor cycles,
        ``left_at`` before ``joined_at``, orders before the member joined, and timestamps after
        ``as_of``. Each line names the table and column, how many rows, and the first ids.
    """
    problems = Problems()
    declared = {"stage": data.stages, "lead_type": data.lead_types}
    for column, values in declared.items():
        if values is not None and (
            isinstance(values, str) or not values or not all(isinstance(v, str) for v in values)
        ):
            problems.note(f"the {column} values declared must be a list of names, got {values!r}")
    declared = {k: tuple(v) for k, v in declared.items() if v and not isinstance(v, str)}
    if data.members is None:
        problems.note("members: the table is missing; the members table is required")
    if data.events is not None and data.leads is None:
        problems.note("leads: the table is missing while there are events; events refer to leads")
    if data.leads is None and data.events is None and data.orders is None:
        problems.note(
            "leads and events are missing and there are no orders: nothing to analyse; give "
            "leads and events (the funnel) or orders (orders-only data)"
        )
    frames = {
        name: _normalise_table(TABLES[name], frame, problems, declared)
        for name, frame in data.tables().items()
    }
    leads, events, members, orders = (
        frames.get(n) for n in ("leads", "events", "members", "orders")
    )

    if leads is not None and events is not None:
        _unknown_reference(
            problems,
            "events",
            "lead_id",
            events,
            "lead_id",
            leads["lead_id"],
            "leads not in the leads table",
        )
    if members is not None and "sponsor_id" in members.columns:
        _unknown_reference(
            problems,
            "members",
            "sponsor_id",
            members,
            "member_id",
            members["member_id"],
            "sponsors not in the members table",
        )
    if members is not None:
        if leads is not None:
            _unknown_reference(
                problems,
                "members",
                "lead_id",
                members,
                "member_id",
                leads["lead_id"],
                "leads not in the leads table",
            )
        # with duplicate ids, "the sponsor" is ambiguous
        if "sponsor_id" in members.columns and members["member_id"].is_unique:
            loops = sponsor_loops(members["member_id"], members["sponsor_id"])
            problems.add(
                "members",
                "sponsor_id",
                "in a sponsor cycle (the chain of sponsors loops back)",
                pd.Series(loops, index=members.index),
                members["member_id"],
            )
        if "left_at" in members.columns:
            problems.add(
                "members",
                "left_at",
                "before joined_at",
                members["left_at"] < members["joined_at"],
                members["member_id"],
            )
    for name in ("orders", "role_history"):
        frame = frames.get(name)
        if frame is not None and members is not None:
            _unknown_reference(
                problems,
                name,
                "member_id",
                frame,
                TABLES[name].id_col,
                members["member_id"],
                "members not in the members table",
            )
    if orders is not None and members is not None and len(members):
        first = members.drop_duplicates("member_id")
        pos = pd.Index(first["member_id"]).get_indexer(orders["member_id"])
        joined = pd.Series(first["joined_at"].to_numpy()[pos], index=orders.index).where(pos >= 0)
        problems.add(
            "orders",
            "ordered_at",
            "before the member joined",
            orders["ordered_at"] < joined,
            orders["order_id"],
        )

    present = {name: frame for name, frame in frames.items() if frame is not None}
    stamps = [
        (name, col.name)
        for name, frame in present.items()
        for col in TABLES[name].columns
        if col.kind == "datetime" and col.name in frame.columns
    ]
    as_of = data.as_of
    if as_of is None:
        latest = [present[name][col].max() for name, col in stamps]
        latest = [t for t in latest if pd.notna(t)]
        as_of = max(latest) if latest else None
    else:
        as_of = parse_as_of(as_of)
        for name, col in stamps:
            frame = present[name]
            problems.add(
                name, col, f"after as_of ({as_of})", frame[col] > as_of, frame[TABLES[name].id_col]
            )

    problems.raise_if_any()
    return replace(data, as_of=as_of, **frames, **{f"{k}s": v for k, v in declared.items()})
