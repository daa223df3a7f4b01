"""Your own CRM export: a mapping from the contract's names to the export's, and a proposal.

A mapping is a dict, or a TOML file (``crm_mapping.toml`` inside the export folder is used when
present), with up to four sections::

    [tables]                      # contract table = file name or workbook sheet
    members = "Distributors.xlsx"

    [columns.leads]               # contract column = the export's header
    lead_id = "Lead ID"
    created_at = "Created Date"

    [values.role]                 # the export's value = the contract's value
    "Distributor" = "business_builder"
    "VIP" = "preferred_customer"

    [dates]                       # for every table; [dates.orders] for one table
    dayfirst = true               # or date_format = "%d.%m.%Y %H:%M"

    [pipeline]                    # optional: your stages in order, your lead types
    stages = ["catalog", "cart", "checkout", "customer"]
    lead_types = ["cold", "warm"]

Stages and lead types are the export's own (any names); without ``[pipeline]`` they are the
values found, and the sample's names are the default spelling. With it, a value outside the
declared ones is refused. Values of ``stage``, ``lead_type`` and ``role`` are matched ignoring
case and surrounding spaces (``" Generic "`` is ``generic``), with or without a value map; the summary of the
:class:`~toolkit.CRMData` says which values were mapped or normalised.
:func:`check_export` (``python -m toolkit check DIR``) reads an export without running any
notebook, lists each problem with its fix and proposes a mapping from the headers it found.
"""

from toolkit.mapping.crm_mapping import (
    CHECK_HINT,
    DATE_KEYS,
    MAPPING_FILE,
    OPEN_VOCABULARIES,
    SECTIONS,
    VOCABULARIES,
    CRMMapping,
    Mapped,
    apply_mapping,
    load_mapping,
    normalise_header,
    parse_dates_as_told,
)
from toolkit.mapping.proposal import (
    SYNONYMS,
    CheckResult,
    check_export,
    main,
    propose_columns,
)

__all__ = [
    "CHECK_HINT",
    "MAPPING_FILE",
    "VOCABULARIES",
    "OPEN_VOCABULARIES",
    "SECTIONS",
    "DATE_KEYS",
    "normalise_header",
    "CRMMapping",
    "load_mapping",
    "Mapped",
    "apply_mapping",
    "parse_dates_as_told",
    "SYNONYMS",
    "propose_columns",
    "CheckResult",
    "check_export",
    "main",
]
