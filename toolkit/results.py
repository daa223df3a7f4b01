"""What every small result object of the toolkit shares: reading a field like a dict key (the
results were dicts once), the old names of renamed fields for one release, and the one-row
views of a result whose fields are all numbers and words."""

from __future__ import annotations

import warnings
from dataclasses import asdict, fields
from typing import ClassVar

import pandas as pd


class FieldReads:
    """``result["name"]`` reads the field ``name`` of a dataclass result.

    A subclass that renames fields lists them in ``_renamed_fields`` (old name -> new name):
    the old name still reads, as an attribute or a key, with a DeprecationWarning.
    """

    _renamed_fields: ClassVar[dict[str, str]] = {}

    def __getitem__(self, name: str):
        name = self._current_name(name)
        if name not in {f.name for f in fields(self)}:
            raise KeyError(name)
        return getattr(self, name)

    def __getattr__(self, name: str):
        # only reached when ordinary lookup fails: an old name, or a real AttributeError
        renamed = type(self)._renamed_fields
        if name in renamed:
            return getattr(self, self._current_name(name))
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @classmethod
    def _current_name(cls, name: str) -> str:
        new = cls._renamed_fields.get(name)
        if new is None:
            return name
        warnings.warn(
            f"{cls.__name__}.{name} is renamed {new}; the old name will be removed in the next "
            "release",
            DeprecationWarning,
            stacklevel=3,
        )
        return new


class RowFields(FieldReads):
    """A result whose fields are all numbers and words: a dict or a one-row DataFrame of it."""

    def as_dict(self) -> dict:
        """All fields as a plain dict."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """All fields as a one-row DataFrame."""
        return pd.DataFrame([self.as_dict()])
