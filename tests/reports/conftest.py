"""Shared settings for the report tests: a base currency, a dated USD rate, two owners."""
from datetime import date
from decimal import Decimal as D

import pytest

from crmcli.config import Config


@pytest.fixture
def cfg() -> Config:
    return Config(
        currency="RUB",
        rates={"USD": [(date(2026, 1, 1), D("90")), (date(2026, 6, 1), D("80"))]},
        owners={"anna": {"name": "Anna Petrova"},
                "boris": {"name": "Boris Ivanov", "manager": "anna"},
                "vera": {"name": "Vera", "manager": "boris"}},
        churn_after=365,
        sources={"exhibition": {"cost": D("1000")}, "web": {}},
        fields={"psychotype": {"type": "choice", "values": ["diplomat", "analyst", "driver"]},
                "age": {"type": "integer"}},
    )
