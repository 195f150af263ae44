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


def rate_on(rates: dict[str, list[tuple[date, Decimal]]], currency: str, day: date,
            base: str) -> Decimal | None:
    """The rate of ``currency`` in force on ``day``; None when it has no rates."""
    if currency == base:
        return Decimal(1)
    table = rates.get(currency)
    if not table:
        return None
    days = [d for d, _ in table]
    i = bisect.bisect_right(days, day) - 1
    return table[max(i, 0)][1]


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
    return float(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def round_rate(value: float | Decimal | None, places: int = 4) -> float | None:
    """A fraction rounded to 4 places (contract section 5)."""
    if value is None:
        return None
    q = Decimal(1).scaleb(-places)
    return float(Decimal(str(value)).quantize(q, rounding=ROUND_HALF_UP))
