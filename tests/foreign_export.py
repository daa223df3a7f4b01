"""The sample as another CRM exports it (issue 15), shared by the mapping and report tests:
renamed headers, semicolon and tab CSV, members in an .xlsx, day-first dates, capitalised
values, no role_history."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook

import toolkit

DAY_FIRST = "%d/%m/%Y %H:%M:%S"

# A back office's names for the sample's columns (contract name -> export header)
HEADERS = {
    "leads": {
        "lead_id": "Lead ID",
        "created_at": "Created Date",
        "source": "Lead Source",
        "lead_type": "Lead Type",
        "cost": "Lead Cost",
        "owner_id": "Owner",
    },
    "events": {"lead_id": "Lead ID", "stage": "Stage", "at": "Stage Date"},
    "members": {
        "member_id": "Distributor ID",
        "sponsor_id": "Enroller",
        "joined_at": "Join Date",
        "role": "Member Type",
        "left_at": "Termination Date",
        "lead_id": "Lead ID",
    },
    "orders": {
        "order_id": "Order Number",
        "member_id": "Distributor ID",
        "ordered_at": "Order Date",
        "amount": "Order Total",
        "volume": "PV",
        "autoship": "Autoship",
    },
}
ROLE_NAMES = {  # what the back office calls each role: two of them no synonym can guess
    "retail_customer": "Retail Customer",
    "preferred_customer": "VIP",
    "retailer": "Retailer",
    "business_builder": "Distributor",
    "leader": "Leader",
}


def mapping_toml(roles: dict[str, str]) -> str:
    """The ``crm_mapping.toml`` that reads such an export back: the columns of HEADERS and the
    ``roles`` value map (export value -> contract role), the part no synonym can guess."""
    sections = [
        f"[columns.{t}]\n" + "\n".join(f'{c} = "{h}"' for c, h in n.items())
        for t, n in HEADERS.items()
    ]
    sections.append("[values.role]\n" + "\n".join(f'"{k}" = "{v}"' for k, v in roles.items()))
    return "\n\n".join(sections) + "\n"


# what check proposes for the sample's export, with the two roles it cannot guess filled in
ROLE_MAP = {"VIP": "preferred_customer", "Distributor": "business_builder"}


def foreign_table(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """``frame`` as the back office writes it: its headers, day-first dates, capitalised words."""
    out = frame.copy()
    for col in toolkit.schema.TABLES[table].columns:
        values = out[col.name]
        if col.kind == "datetime":
            out[col.name] = values.dt.strftime(DAY_FIRST).where(values.notna(), "")
        elif col.name in ("stage", "lead_type"):
            out[col.name] = values.str.capitalize()
        elif col.name == "role":
            out[col.name] = values.map(ROLE_NAMES)
        elif col.name == "autoship":
            out[col.name] = values.map({True: "Yes", False: "No"})
    return out.rename(columns=HEADERS[table])


def write_xlsx(frame: pd.DataFrame, path, sheet="Sheet1"):
    """``frame`` as a one-sheet workbook (empty cells for missing values, as Excel writes them)."""
    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append([None if pd.isna(v) or v == "" else v for v in row])
    book.save(path)


def write_foreign_export(data, folder: Path) -> Path:
    """``data`` written to ``folder`` as the back office exports it: a semicolon leads and events
    file, a tab orders file, members in an .xlsx, and no role_history."""
    folder.mkdir(parents=True, exist_ok=True)
    foreign_table(data.leads, "leads").to_csv(folder / "leads.csv", sep=";", index=False)
    foreign_table(data.events, "events").to_csv(folder / "events.csv", sep=";", index=False)
    foreign_table(data.orders, "orders").to_csv(folder / "orders.csv", sep="\t", index=False)
    write_xlsx(foreign_table(data.members, "members"), folder / "members.xlsx")
    return folder
