"""How bad input is reported: every check (``validate``, the cheap checks of the computations,
``read_crm``) collects its problems in :class:`Problems` and words each with
:func:`problem_line`, so one :class:`DataError` names them all alike: the table and column, how
many rows, the first ids and values, and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd

EXAMPLES_SHOWN = 5


class DataError(ValueError):
    """Input data that breaks the contract. The message names the table, the column, how many
    rows are affected and the first few offending ids; ``problems`` lists each problem found."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or [message]


def problem_line(
    table: str,
    column: str,
    what: str,
    count: int,
    id_col: str,
    ids: list,
    values: list | None = None,
    fix: str = "",
) -> str:
    """One problem as every check words it: table.column, how many rows, what is wrong, the
    first ids, the first offending values (when they help) and the fix."""
    noun = "row" if count == 1 else "rows"
    examples = ", ".join(map(str, ids[:EXAMPLES_SHOWN]))
    line = f"{table}.{column}: {count:,} {noun} {what} (first {id_col}: {examples})"
    if values is not None:
        shown = values[:EXAMPLES_SHOWN]
        line += "; values: " + ", ".join(repr(v) if isinstance(v, str) else str(v) for v in shown)
    return line + (f"; {fix}" if fix else "")


class Problems:
    """Collects every problem so one :class:`DataError` reports them all, each with its first
    examples: ``add(table, column, what, bad, ids)`` for a mask of bad rows, ``note(line)`` for
    a line of its own, then ``raise_if_any()``. Computations that check their own inputs use it
    too, so their messages read like ``validate``'s."""

    def __init__(self):
        self.lines: list[str] = []

    def add(
        self,
        table: str,
        column: str,
        what: str,
        bad: pd.Series,
        ids: pd.Series,
        values: pd.Series | None = None,
        fix: str = "",
    ) -> None:
        """One line for the rows in ``bad``: how many, the first ids, the first offending
        ``values`` when given (so the reader sees what failed), and the ``fix``."""
        bad = np.asarray(bad, dtype=bool)  # positions, so a duplicated index cannot misalign
        count = int(bad.sum())
        if count:
            shown = None if values is None else list(values[bad].head(EXAMPLES_SHOWN))
            self.lines.append(
                problem_line(
                    table,
                    column,
                    what,
                    count,
                    ids.name or "row",
                    list(ids[bad].head(EXAMPLES_SHOWN)),
                    shown,
                    fix,
                )
            )

    def note(self, line: str) -> None:
        self.lines.append(line)

    def raise_if_any(self) -> None:
        if self.lines:
            header = f"The CRM data breaks the contract in {len(self.lines)} way(s):"
            raise DataError("\n".join([header, *(f"- {line}" for line in self.lines)]), self.lines)
