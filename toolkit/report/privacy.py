"""The privacy check of the report: the personal values (name, email, phone, notes... columns)
no exported page may show, found in one pass over a page's tokens, and the copy of the data the
notebooks get (the contract's columns only: privacy by construction)."""

from __future__ import annotations

import html
import re
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from itertools import chain
from pathlib import Path

from toolkit.schema import TABLES

# Privacy check. Tokens are runs of word characters, compared case-folded; a personal value is
# flagged when its whole token sequence appears in a page. Values with fewer word characters than
# this are ignored (initials, "n/a", a two-digit age would match numbers on every page).
MIN_PERSONAL_CHARS = 5
# A token is a run of word characters; NUL (never in a page) separates texts tokenised together.
_TOKEN = re.compile(r"\w+|\x00")
_SEPARATOR = "\x00"
# JavaScript/JSON escapes a page may write a value's characters with (Bokeh's docs_json).
_JS_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\[nrtbf/]")
# Script blocks at least this long are scanned once per report (BokehJS, inlined on every page).
_BIG_BLOCK = 65_536
_SCRIPT_TAG = re.compile(r"</?script", re.IGNORECASE)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _unescape_js(match: re.Match) -> str:
    code = match.group(1) or match.group(2)
    return chr(int(code, 16)) if code else " "


def _tokens(text: str) -> list[str]:
    """The word tokens of ``text`` as a reader would see them (HTML entities and JS escapes
    decoded, case folded)."""
    text = html.unescape(_JS_ESCAPE.sub(_unescape_js, text.replace(_SEPARATOR, " ")))
    return _TOKEN.findall(text.casefold())


def _token_sequences(texts) -> list[tuple[str, ...]]:
    """``_tokens`` of each text, tokenised in one pass (texts joined by the separator)."""
    blob = _SEPARATOR.join(str(t).replace(_SEPARATOR, " ") for t in texts)
    text = html.unescape(_JS_ESCAPE.sub(_unescape_js, blob)).casefold()
    return [tuple(part.split()) for part in " ".join(_TOKEN.findall(text)).split(_SEPARATOR)]


class PrivacyCheck:
    """The personal values no page may show, and a linear scan of a page for them.

    Built from the data before any notebook runs: the text values of every column outside the
    contract (name, email, phone, notes...), minus values with fewer than
    ``MIN_PERSONAL_CHARS`` word characters and minus values that also occur in ``allowed`` texts
    (contract columns such as sources or ids, the notebooks' own cells, the inlined BokehJS),
    which a page shows legitimately.

    A page is scanned in one pass: it is tokenised once (runs of word characters, case folded,
    HTML entities and JavaScript escapes decoded); each value is looked up by its rarest token in
    the page's token set, and only the positions of those tokens are compared with the value.
    Large script blocks seen on an earlier page (BokehJS) are not scanned twice.

    Parameters
    ----------
    values : iterable of str
        Values of personal-data columns.
    allowed : iterable of str
        Texts whose content may appear on a page whatever the personal columns hold.
    """

    def __init__(self, values=(), allowed=()):
        sequences = {
            seq
            for seq in _token_sequences(values)
            if seq and sum(map(len, seq)) >= MIN_PERSONAL_CHARS
        }
        self._blocks: dict[str, set[tuple[str, ...]]] = {}
        self._index = self._build(sequences)
        if sequences:
            stream = [t for seq in _token_sequences(allowed) for t in (*seq, _SEPARATOR)]
            shared = self._find(stream, self._index)  # shown legitimately: not checked
            if shared:
                for anchor, entries in list(self._index.items()):
                    kept = [entry for entry in entries if entry[0] not in shared]
                    if kept:
                        self._index[anchor] = kept
                    else:
                        del self._index[anchor]
            sequences -= shared
        self.count = len(sequences)

    @staticmethod
    def _build(sequences) -> dict[str, list[tuple[tuple[str, ...], int]]]:
        # anchor each value on its least frequent token among all values, so a value is only
        # compared where a rare token of it occurs
        frequency = Counter(chain.from_iterable(map(set, sequences)))
        index: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for seq in sequences:
            anchor = min(seq, key=frequency.__getitem__)
            index.setdefault(anchor, []).append((seq, seq.index(anchor)))
        return index

    @staticmethod
    def _find(tokens: list[str], index) -> set[tuple[str, ...]]:
        found: set[tuple[str, ...]] = set()
        anchors = index.keys() & set(tokens)
        if not anchors:
            return found
        for i in [i for i, token in enumerate(tokens) if token in anchors]:
            for seq, offset in index[tokens[i]]:
                start = i - offset
                if start >= 0 and tuple(tokens[start : start + len(seq)]) == seq:
                    found.add(seq)
        return found

    def leaks(self, text: str) -> int:
        """How many distinct personal values ``text`` shows."""
        if not self._index:
            return 0
        found: set[tuple[str, ...]] = set()
        small: list[str] = []
        # a value never spans a script tag: split there and remember what big blocks held
        # (BokehJS differs between pages only by the output's element id, a UUID)
        for block in _SCRIPT_TAG.split(text):
            if len(block) < _BIG_BLOCK:
                small.append(block)
                continue
            key = _UUID.sub(" ", block)
            if key not in self._blocks:
                self._blocks[key] = self._find(_tokens(key), self._index)
            found |= self._blocks[key]
        found |= self._find(_tokens(_SEPARATOR.join(small)), self._index)
        return len(found)


def _allowed_texts(data, notebooks: Sequence[Path]):
    """Texts a page may show whatever the personal columns hold: contract columns' text values,
    the notebooks' cells and the inlined BokehJS."""
    from bokeh.resources import INLINE
    from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

    for name, frame in data.tables().items():
        for col in TABLES[name].column_names:
            # numbers and dates are not compared: tokens are words, not digits of a table
            if col in frame.columns and not (
                is_numeric_dtype(frame[col]) or is_datetime64_any_dtype(frame[col])
            ):
                yield from frame[col].dropna().astype(str).unique()
    for path in notebooks:
        yield path.read_text(encoding="utf-8")
    yield from INLINE.js_raw


def _personal_values(data):
    """Every text value of a column outside the contract (name, email, phone, notes...)."""
    for name, frame in data.tables().items():
        contract = set(TABLES[name].column_names)
        for col in frame.columns:
            if col not in contract:
                yield from frame[col].dropna().astype(str).unique()


def prepare_data(data_dir=None, as_of=None, notebooks: Sequence[Path] = ()):
    """Validate ``data_dir`` and write a copy with only the contract's columns.

    Parameters
    ----------
    data_dir : str or Path, optional
        A CRM export folder; None is the bundled sample.
    as_of : timestamp-like, optional
        The export date; defaults to the latest timestamp in the data.
    notebooks : sequence of Path
        The notebooks the report runs (their own text is never a leak).

    Returns
    -------
    folder : Path
        The copy (Parquet), for the notebooks.
    as_of : pandas.Timestamp
        The export date.
    privacy : PrivacyCheck
        The personal values no page may show.

    Raises
    ------
    toolkit.DataError
        The folder breaks the contract.
    """
    from toolkit.datasets import SAMPLE_DIR, load_sample, read_crm, write_crm

    if data_dir is None and as_of is None and (SAMPLE_DIR / "leads.csv").exists():
        data = load_sample()
    else:
        data = read_crm(SAMPLE_DIR if data_dir is None else data_dir, as_of=as_of)
    privacy = PrivacyCheck(_personal_values(data), _allowed_texts(data, notebooks))
    tables = {}
    for name, frame in data.tables().items():
        tables[name] = frame[[c for c in TABLES[name].column_names if c in frame.columns]]
    clean = replace(data, **tables)
    folder = Path(tempfile.mkdtemp(prefix="toolkit-report-data-"))
    write_crm(clean, folder, format="parquet")
    return folder, clean.as_of, privacy
