"""Shared fixtures: tiny hand-checkable CRM data, and the same frame on every dataframe engine."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import toolkit
from tests.support import ENGINES, to_engine, to_pandas  # noqa: F401 (re-exported)


@pytest.fixture(params=ENGINES)
def engine(request):
    """The name of each engine in turn; convert inputs with ``to_engine(frame, engine)``."""
    return request.param


@pytest.fixture(scope="session")
def spark():
    """A local-mode Spark session (needs Java; PySpark runs the same Narwhals code)."""
    if shutil.which("java") is None:
        pytest.skip("PySpark needs Java and there is no java on PATH")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("toolkit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def sample():
    """The bundled sample world (20,000 contacts, 24 months), validated."""
    return toolkit.load_sample()


@pytest.fixture(scope="session")
def small_world():
    """A smaller generated world for tests that need realistic structure but not many rows."""
    return toolkit.generate_sample(3_000, months=12, seed=7)


@pytest.fixture
def tiny():
    """Four leads you can check by hand.

    L1: contact -> lead -> prospect -> customer (customer on day 20)
    L2: contact -> lead -> prospect, stops there (old: its window has elapsed)
    L3: contact -> lead, stops there (old)
    L4: contact only, created 10 days before as_of: still in progress at every later step
    M1 is a root rep who works every lead; L1 became member M2, sponsored by M1.
    """
    t = pd.Timestamp
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4"],
            "created_at": [t("2025-01-01"), t("2025-01-05"), t("2025-02-01"), t("2025-06-20")],
            "source": ["seminar", "broker", "warm_market", "broker"],
            "lead_type": ["qualified", "generic", "unqualified", "generic"],
            "cost": [12.0, 0.05, 0.0, 0.05],
            "owner_id": ["M1", "M1", "M1", "M1"],
        }
    )
    events = pd.DataFrame(
        {
            "lead_id": ["L1", "L1", "L1", "L1", "L2", "L2", "L2", "L3", "L3", "L4"],
            "stage": [
                "contact",
                "lead",
                "prospect",
                "customer",
                "contact",
                "lead",
                "prospect",
                "contact",
                "lead",
                "contact",
            ],
            "at": [
                t("2025-01-01"),
                t("2025-01-03"),
                t("2025-01-10"),
                t("2025-01-21"),
                t("2025-01-05"),
                t("2025-01-06"),
                t("2025-02-01"),
                t("2025-02-01"),
                t("2025-02-02"),
                t("2025-06-20"),
            ],
        }
    )
    members = pd.DataFrame(
        {
            "member_id": ["M1", "M2"],
            "sponsor_id": [None, "M1"],
            "joined_at": [t("2024-06-01"), t("2025-01-21")],
            "role": ["business_builder", "preferred_customer"],
            "left_at": [pd.NaT, pd.NaT],
            "lead_id": [None, "L1"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3"],
            "member_id": ["M2", "M2", "M1"],
            "ordered_at": [t("2025-01-21"), t("2025-02-21"), t("2025-03-01")],
            "amount": [70.0, 70.0, 120.0],
            "volume": [56.0, 56.0, 96.0],
            "autoship": [True, True, False],
        }
    )
    return toolkit.CRMData(leads, events, members, orders, as_of=t("2025-06-30"))
