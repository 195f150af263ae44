"""Prices: sales volume per price level of one product."""
import json
from datetime import date
from decimal import Decimal as D

import pytest

from crmcli.errors import CrmError
from crmcli.reports.common import Dataset
from crmcli.reports.prices import PricesSpec, csv_rows, prices_report, render_table

TODAY = date(2026, 3, 10)


def d(text):
    return date.fromisoformat(text)


def sale(id_, day, stage="won", product="mat", **kw):
    return {"id": id_, "client": "c1", "stage": stage, "product": product,
            "history": [{"stage": "lead", "date": d("2026-01-01")}, {"stage": stage, "date": d(day)}], **kw}


def dataset():
    deals = [
        sale("p1", "2026-01-10", quantity=D("10"), unit_price=D("100")),
        sale("p2", "2026-01-20", quantity=D("5"), unit_price=D("100"), owner="boris"),
        sale("p3", "2026-02-10", quantity=D("4"), unit_price=D("120")),
        sale("p4", "2026-02-15", stage="lost", quantity=D("10"), unit_price=D("120")),
        sale("p5", "2026-03-01", quantity=D("2"), unit_price=D("1.5"), currency="USD"),  # 135.00
        sale("p6", "2026-03-05", amount=D("300"), quantity=D("3")),                        # 100 each
        sale("p7", "2026-03-06", amount=D("50")),                                          # no price
        {"id": "p8", "client": "c1", "stage": "lead", "product": "mat", "unit_price": D("1")},
        sale("q1", "2026-01-10", product="block", quantity=D("1"), unit_price=D("999")),
    ]
    return Dataset(clients=[{"id": "c1", "name": "C1", "owner": "anna", "tags": ["vip"]}], deals=deals)


def test_prices_by_hand(cfg):
    r = prices_report(dataset(), cfg, PricesSpec(TODAY, product="mat"))
    assert r["product"] == "mat" and r["currency"] == "RUB"
    assert r["rows"] == [
        {"price": 100.0, "deals": 3, "quantity": 18, "revenue": 1800.0, "lost": 0, "win_rate": 1.0,
         "first_sale": "2026-01-10", "last_sale": "2026-03-05"},
        {"price": 120.0, "deals": 1, "quantity": 4, "revenue": 480.0, "lost": 1, "win_rate": 0.5,
         "first_sale": "2026-02-10", "last_sale": "2026-02-10"},
        {"price": 135.0, "deals": 1, "quantity": 2, "revenue": 270.0, "lost": 0, "win_rate": 1.0,
         "first_sale": "2026-03-01", "last_sale": "2026-03-01"},
        {"price": None, "deals": 1, "quantity": 0, "revenue": 50.0, "lost": 0, "win_rate": 1.0,
         "first_sale": "2026-03-06", "last_sale": "2026-03-06"},
    ]
    assert (r["deals"], r["quantity"], r["revenue"]) == (6, 24, 2600.0)
    assert r["avg_price"] == 106.25       # 2550 of deals with a quantity / 24
    json.dumps(r)


def test_window_and_filters(cfg):
    r = prices_report(dataset(), cfg, PricesSpec(TODAY, product="mat", date_to=d("2026-01-31")))
    assert [(row["price"], row["deals"], row["quantity"]) for row in r["rows"]] == [(100.0, 2, 15)]
    r = prices_report(dataset(), cfg, PricesSpec(TODAY, product="mat", owner="boris"))
    assert r["deals"] == 1 and r["revenue"] == 500.0
    r = prices_report(dataset(), cfg, PricesSpec(TODAY, product="mat", owner="anna", tag="vip",
                                                 date_from=d("2026-03-01")))
    assert r["deals"] == 3 and r["rows"][0]["price"] == 100.0


def test_bad_product(cfg):
    with pytest.raises(CrmError, match=r"unknown product 'rug' \(products: block, mat\)"):
        prices_report(dataset(), cfg, PricesSpec(TODAY, product="rug"))
    with pytest.raises(CrmError, match="--product is required"):
        prices_report(dataset(), cfg, PricesSpec(TODAY))
    with pytest.raises(CrmError, match="no deal names a product"):
        prices_report(Dataset(), cfg, PricesSpec(TODAY, product="mat"))


def test_period_with_no_sales(cfg):
    r = prices_report(dataset(), cfg, PricesSpec(TODAY, product="mat", date_from=d("2025-01-01"),
                                                 date_to=d("2025-12-31")))
    assert r["rows"] == [] and r["deals"] == 0 and r["avg_price"] is None and r["revenue"] == 0.0


def test_table_and_csv(cfg):
    r = prices_report(dataset(), cfg, PricesSpec(TODAY, product="mat"))
    text = render_table(r)
    assert "135.00" in text and "█" in text and "106.25" in text
    headers, rows = csv_rows(r)
    assert headers[:4] == ["price", "deals", "quantity", "revenue"] and rows[-1][0] == ""
