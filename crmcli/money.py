"""Decimal money, currencies and dated exchange rates (contract section 5).

A rate is the value of one unit of a currency in the base currency; the rate
in force on a day is the latest one dated on or before it, or the earliest one
for days before all of them.
"""
from __future__ import annotations

import bisect
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ONE = Decimal(1)
RATE_STEP = Decimal("0.0001")


def rate_on(rates: dict[str, list[tuple[date, Decimal]]], currency: str, day: date,
            base: str) -> Decimal | None:
    """The rate of ``currency`` in force on ``day``; None when it has no rates."""
    if currency == base:
        return ONE
    table = rates.get(currency)
    if not table:
        return None
    return _rate_in(table, [d for d, _ in table], day)


def _rate_in(table: list[tuple[date, Decimal]], days: list[date], day: date) -> Decimal:
    """The rate of a non-empty ``table`` (``days`` are its dates) in force on ``day``."""
    i = bisect.bisect_right(days, day) - 1
    return table[max(i, 0)][1]


class RateTable:
    """``to_base`` for many amounts: each currency's list of dates is built once,
    not at every conversion.  A report converts thousands of deals: it builds
    one table and converts them all with it.
    """

    def __init__(self, rates: dict[str, list[tuple[date, Decimal]]], base: str):
        self.base = base
        self.tables = {cur: (table, [d for d, _ in table]) for cur, table in rates.items() if table}

    def to_base(self, amount: Decimal | None, currency: str | None, day: date) -> Decimal | None:
        """The same as ``to_base(amount, currency, day, base, rates)``."""
        if amount is None:
            return None
        if currency is None or currency == self.base:
            return amount * ONE   # as to_base does: the product is rounded like any other
        found = self.tables.get(currency)
        if found is None:
            return None
        return amount * _rate_in(found[0], found[1], day)


def to_base(amount: Decimal | None, currency: str | None, day: date, base: str,
            rates: dict[str, list[tuple[date, Decimal]]]) -> Decimal | None:
    """``amount`` in the base currency at the rate of ``day``; None if unknown."""
    if amount is None:
        return None
    rate = rate_on(rates, currency or base, day, base)
    if rate is None:
        return None
    return amount * rate


def round_money(value: Decimal | None) -> float | None:
    """Money as the reports print it: a number rounded to 2 places."""
    if value is None:
        return None
    if type(value) is not Decimal:
        value = Decimal(value)
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def round_rate(value: float | Decimal | None, places: int = 4) -> float | None:
    """A fraction rounded to 4 places (contract section 5)."""
    if value is None:
        return None
    q = RATE_STEP if places == 4 else Decimal(1).scaleb(-places)
    if type(value) is not Decimal:   # a float by its shortest text (0.1, not 0.1000000000000000055…)
        value = Decimal(str(value))
    return float(value.quantize(q, rounding=ROUND_HALF_UP))
