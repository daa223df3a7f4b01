"""Proposing a mapping from an export's headers, and ``python -m toolkit check``.

:func:`propose_columns` finds, for each contract column an export lacks, the header that looks
like it (:data:`SYNONYMS`: the names other CRMs and back offices write); :func:`check_export`
reads and validates an export without running any notebook and returns a :class:`CheckResult`
(each problem with its fix, and the proposed mapping); :func:`main` is the command.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.mapping.crm_mapping import (
    MAPPING_FILE,
    CRMMapping,
    _key,
    load_mapping,
    normalise_header,
)
from toolkit.schema import TABLES, DataError

# Headers other CRMs and back offices write for each contract column, compared after
# normalising (case, spaces and punctuation ignored); the contract name itself comes first.
_LEAD_ID = ("lead id", "lead", "lead number", "lead no", "contact id", "prospect id")
_MEMBER_ID = (
    "member id",
    "distributor id",
    "associate id",
    "consultant id",
    "rep id",
    "customer id",
    "account id",
    "member number",
    "member no",
    "id",
)
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "leads": {
        "lead_id": (*_LEAD_ID, "id"),
        "created_at": (
            "created date",
            "created",
            "created on",
            "date created",
            "creation date",
            "lead date",
            "date",
        ),
        "source": ("lead source", "source", "channel", "origin", "campaign"),
        "lead_type": ("lead type", "type", "lead category", "category", "lead quality"),
        "cost": ("lead cost", "cost per lead", "cpl", "cost", "price", "spend"),
        "owner_id": ("owner id", "owner", "lead owner", "assigned to", "assigned rep", "rep id"),
    },
    "events": {
        "lead_id": _LEAD_ID,
        "stage": ("stage", "pipeline stage", "funnel stage", "lead status", "status", "step"),
        "at": (
            "stage date",
            "event date",
            "changed at",
            "date changed",
            "reached at",
            "timestamp",
            "date",
            "time",
        ),
    },
    "members": {
        "member_id": _MEMBER_ID,
        "sponsor_id": (
            "sponsor id",
            "sponsor",
            "enroller id",
            "enroller",
            "upline id",
            "upline",
            "sponsored by",
            "enrolled by",
            "recruiter",
            "referrer",
        ),
        "joined_at": (
            "join date",
            "joined",
            "joined on",
            "date joined",
            "enrollment date",
            "enrolment date",
            "enroll date",
            "signup date",
            "start date",
        ),
        "role": ("role", "rank", "member type", "customer type", "account type", "type"),
        "left_at": (
            "left",
            "left on",
            "date left",
            "leave date",
            "termination date",
            "terminated",
            "cancel date",
            "end date",
            "inactive date",
        ),
        "lead_id": ("lead id", "source lead", "lead"),
    },
    "orders": {
        "order_id": ("order id", "order number", "order no", "invoice id", "invoice number", "id"),
        "member_id": (*_MEMBER_ID[:-1], "buyer id", "member", "customer"),
        "ordered_at": (
            "order date",
            "ordered",
            "ordered on",
            "date ordered",
            "purchase date",
            "created date",
            "date",
        ),
        "amount": ("order total", "total", "order amount", "amount", "sales", "revenue", "price"),
        "volume": (
            "pv",
            "personal volume",
            "volume",
            "qv",
            "bv",
            "business volume",
            "cv",
            "points",
        ),
        "autoship": (
            "autoship",
            "auto ship",
            "smartship",
            "auto order",
            "subscription",
            "recurring",
            "is autoship",
        ),
    },
    "role_history": {
        "member_id": _MEMBER_ID,
        "role": ("role", "new role", "rank", "new rank"),
        "from_at": (
            "from",
            "from date",
            "since",
            "effective date",
            "rank date",
            "start date",
            "changed at",
            "date",
        ),
    },
}


def propose_columns(
    table: str, headers: list[str], mapping: CRMMapping
) -> tuple[dict[str, str], list[str]]:
    """For the contract columns of ``table`` neither in ``headers`` nor in ``mapping``: the
    header that looks like each (case, spaces, punctuation ignored; common synonyms), and the
    columns for which none does."""
    spec = TABLES[table]
    named = mapping.columns.get(table, {})
    taken = {_key(h) for h in named.values()}
    present = {str(h) for h in headers}
    free = [str(h) for h in headers if _key(h) not in taken and str(h) not in spec.column_names]
    guesses, unmatched = {}, []
    for col in spec.column_names:
        if col in named or col in present:
            continue
        wanted = [normalise_header(col), *map(normalise_header, SYNONYMS[table].get(col, ()))]
        found = None
        for name in wanted:
            found = next((h for h in free if normalise_header(h) == name), None)
            if found is not None:
                break
        if found is None:
            if not spec.columns[spec.column_names.index(col)].shows:  # optional: may be absent
                unmatched.append(col)
        else:
            guesses[col] = found
            free.remove(found)
    return guesses, unmatched


@dataclass
class CheckResult:
    """What :func:`check_export` found: the problems (each with its fix), the mapping it
    proposes, and the data when the export reads clean with the mapping given."""

    folder: Path
    mapping: CRMMapping
    proposal: CRMMapping
    problems: list[str] = field(default_factory=list)
    unknown_values: dict[str, list[str]] = field(default_factory=dict)
    data: object = None

    @property
    def clean(self) -> bool:
        """True when the export reads and validates with the mapping given, as it is."""
        return not self.problems and self.proposal == self.mapping

    def proposal_toml(self) -> str:
        return self.proposal.to_toml(unknown_values=self.unknown_values)

    def __str__(self) -> str:
        lines = [f"Checked {self.folder} (mapping: {self.mapping.source})"]
        if self.clean:
            sizes = ", ".join(f"{n} {len(f):,} rows" for n, f in self.data.tables().items())
            lines.append(f"The export reads clean: {sizes}; as_of {self.data.as_of}.")
            lines += [f"  note ({t}): {text}" for t, text in self.data.notes]
            return "\n".join(lines)
        lines.append(f"{len(self.problems)} problem(s):")
        lines += [f"- {p}" for p in self.problems]
        if self.proposal != self.mapping or self.unknown_values:
            lines += [
                "",
                "Proposed mapping (write it with --write-mapping FILE, edit it, then check again "
                "with --mapping FILE, or read_crm(folder, mapping=FILE)):",
                "",
                self.proposal_toml(),
            ]
        return "\n".join(lines)


def check_export(path, mapping=None, *, as_of=None) -> CheckResult:
    """Read and validate the export in ``path`` without running any notebook.

    Parameters
    ----------
    path : str or Path
        The export folder.
    mapping : dict, str or Path, optional
        As for :func:`toolkit.read_crm`; defaults to ``crm_mapping.toml`` in the folder.
    as_of : timestamp-like, optional
        When the export was taken.

    Returns
    -------
    CheckResult
        ``problems`` (each with its fix), ``proposal`` (the mapping plus the headers that look
        like each missing column), ``clean`` and, when clean, ``data``.
    """
    from toolkit import datasets

    folder = Path(path)
    try:
        given = load_mapping(mapping, folder if folder.is_dir() else None)
    except DataError as exc:
        return CheckResult(
            folder, CRMMapping(source=str(mapping)), CRMMapping(), list(exc.problems)
        )
    result = CheckResult(folder, given, given)
    try:
        read = datasets.read_tables(folder, given)
    except DataError as exc:  # not a folder
        result.problems += exc.problems
        return result
    proposal = given
    for table, frame in read.frames.items():
        if frame is None:
            continue
        guesses, unmatched = propose_columns(table, list(frame.columns), given)
        where = read.files[table]
        if guesses:
            shown = ", ".join(f"{col} as {header!r}" for col, header in guesses.items())
            result.problems.append(
                f"{where}: no column(s) {', '.join(guesses)}; headers that look like them: "
                f"{shown}; the proposal below maps them under [columns.{table}]"
            )
        if unmatched:
            result.problems.append(
                f"{where}: no header looks like {', '.join(unmatched)} (headers: "
                f'{list(map(str, frame.columns))}); add COLUMN = "YOUR HEADER" under '
                f"[columns.{table}] for each"
            )
        if guesses:
            proposal = proposal.with_columns(table, guesses)
    result.problems += read.problems
    result.proposal = proposal
    if read.problems:
        return result
    if proposal != given:  # read again: the columns the proposal names are read as text
        read = datasets.read_tables(folder, proposal)
    data, mapped, problems = datasets.assemble(read, proposal, as_of=as_of)
    result.problems += [p for p in problems if "missing required column" not in p]
    result.unknown_values = mapped.unknown_values
    result.data = data
    return result


def main(argv=None) -> int:
    """``python -m toolkit check DIR [--mapping FILE] [--write-mapping FILE] [--as-of DATE]``."""
    parser = argparse.ArgumentParser(
        prog="python -m toolkit check",
        description="Read and validate a CRM export without running any notebook; print each "
        "problem with its fix and propose a mapping where columns are missing. Exit status 0 "
        "only for a clean export.",
    )
    parser.add_argument("folder", help="the export folder")
    parser.add_argument(
        "--mapping", help=f"a mapping TOML file (default: {MAPPING_FILE} in the folder)"
    )
    parser.add_argument(
        "--write-mapping",
        metavar="FILE",
        help="write the proposed mapping to FILE for you to edit (an existing file is not replaced)",
    )
    parser.add_argument("--as-of", help="when the export was taken (default: the latest date)")
    args = parser.parse_args(argv)
    result = check_export(args.folder, args.mapping, as_of=args.as_of)
    print(result)
    if args.write_mapping:
        target = Path(args.write_mapping)
        if target.exists():
            print(f"\n{target} exists: not replaced (delete it or choose another name)")
            return 2
        target.write_text(result.proposal_toml(), encoding="utf-8")
        print(f"\nWrote the proposed mapping to {target}.")
    return 0 if result.clean else 1
