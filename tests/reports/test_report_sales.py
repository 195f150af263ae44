"""Sales: won deals by period and parameter, two currencies across a rate change."""
import json
from datetime import date
from decimal import Decimal as D

import pytest

from crmcli.errors import CrmError
from crmcli.reports.common import Dataset
from crmcli.reports.sales import SalesSpec, csv_rows, render_table, sales_report

TODAY = date(2026, 7, 1)   # USD is 90 until 2026-05-31, 80 from 2026-06-01 (conftest)


def d(text):
    return date.fromisoformat(text)


def won(id_, client, day, amount, currency=None, **kw):
    deal = {"id": id_, "client": client, "stage": "won", "amount": D(amount),
            "history": [{"stage": "lead", "date": d("2025-01-01")}, {"stage": "won", "date": d(day)}], **kw}
    if currency:
        deal["currency"] = currency
    return deal


def dataset():
    clients = [{"id": "c1", "name": "Acme", "owner": "anna", "tags": ["vip", "retail"], "source": "web"},
               {"id": "c2", "name": "Beta", "owner": "boris", "tags": ["retail"], "source": "exhibition"}]
    deals = [
        won("s1", "c1", "2026-01-15", "1000", owner="anna", product="mat"),
        won("s2", "c1", "2026-05-31", "100", "USD", product="mat"),               # 9000; 8000 today
        won("s3", "c2", "2026-06-01", "100", "USD", owner="boris", product="block", source="web"),  # 8000
        won("s4", "c2", "2025-03-10", "500"),
        won("s5", "c2", "2026-03-20", "700", owner="vera", product="block"),
        {"id": "o1", "client": "c1", "stage": "proposal", "amount": D("5000")},
        {"id": "l1", "client": "c2", "stage": "lost", "amount": D("5000"),
         "history": [{"stage": "lost", "date": d("2026-02-02")}]},
    ]
    return Dataset(clients=clients, deals=deals)


def rows_of(result):
    by = result["by"]
    return [(r[by], r["won"], r["revenue"], r["revenue_constant"]) for r in result["rows"]]


def test_by_month_fills_empty_months(cfg):
    r = sales_report(dataset(), cfg, SalesSpec(TODAY))
    assert r["by"] == "month" and r["currency"] == "RUB"
    rows = {row[0]: row for row in rows_of(r)}
    assert list(rows)[0] == "2025-03" and list(rows)[-1] == "2026-06" and len(rows) == 16
    assert rows["2025-03"] == ("2025-03", 1, 500.0, 500.0)
    assert rows["2025-04"] == ("2025-04", 0, 0.0, 0.0)
    assert rows["2026-05"] == ("2026-05", 1, 9000.0, 8000.0)   # 100 USD at 90 on close, 80 today
    assert rows["2026-06"] == ("2026-06", 1, 8000.0, 8000.0)   # closed on the day the rate changed
    assert (r["won"], r["revenue"], r["revenue_constant"]) == (5, 19200.0, 18200.0)
    assert r["currency_effect"] == 1000.0 and r["foreign_currency"] is True
    assert list(r["rows"][0]) == ["month", "won", "revenue", "revenue_constant"]
    json.dumps(r)


def test_by_quarter_and_season(cfg):
    r = sales_report(dataset(), cfg, SalesSpec(TODAY, by="quarter"))
    assert [row[:3] for row in rows_of(r)] == [
        ("2025-Q1", 1, 500.0), ("2025-Q2", 0, 0.0), ("2025-Q3", 0, 0.0), ("2025-Q4", 0, 0.0),
        ("2026-Q1", 2, 1700.0), ("2026-Q2", 2, 17000.0)]
    r = sales_report(dataset(), cfg, SalesSpec(TODAY, by="month", season=True))
    rows = rows_of(r)
    assert [row[0] for row in rows] == [f"{m:02d}" for m in range(1, 13)]
    assert rows[2] == ("03", 2, 1200.0, 1200.0)    # March 2025 and March 2026 fold together
    assert rows[6] == ("07", 0, 0.0, 0.0)
    r = sales_report(dataset(), cfg, SalesSpec(TODAY, by="quarter", season=True))
    assert [row[:3] for row in rows_of(r)] == [("Q1", 3, 2200.0), ("Q2", 2, 17000.0),
                                               ("Q3", 0, 0.0), ("Q4", 0, 0.0)]


def test_by_parameters(cfg):
    data = dataset()
    # owner: the deal's own, else its client's
    assert rows_of(sales_report(data, cfg, SalesSpec(TODAY, by="owner"))) == [
        ("anna", 2, 10000.0, 9000.0), ("boris", 2, 8500.0, 8500.0), ("vera", 1, 700.0, 700.0)]
    assert rows_of(sales_report(data, cfg, SalesSpec(TODAY, by="source"))) == [
        ("web", 3, 18000.0, 17000.0), ("exhibition", 2, 1200.0, 1200.0)]
    # deals with no product group under null, listed last
    assert rows_of(sales_report(data, cfg, SalesSpec(TODAY, by="product"))) == [
        ("mat", 2, 10000.0, 9000.0), ("block", 2, 8700.0, 8700.0), (None, 1, 500.0, 500.0)]
    # a deal counts under each of its client's tags; the totals count it once
    r = sales_report(data, cfg, SalesSpec(TODAY, by="tag"))
    assert rows_of(r) == [("retail", 5, 19200.0, 18200.0), ("vip", 2, 10000.0, 9000.0)]
    assert r["won"] == 5


def test_window_on_close_date_and_empty_period(cfg):
    r = sales_report(dataset(), cfg, SalesSpec(TODAY, date_from=d("2026-01-01"), date_to=d("2026-03-31")))
    assert rows_of(r) == [("2026-01", 1, 1000.0, 1000.0), ("2026-02", 0, 0.0, 0.0),
                          ("2026-03", 1, 700.0, 700.0)]
    assert r["from"] == "2026-01-01" and r["to"] == "2026-03-31" and r["foreign_currency"] is False
    r = sales_report(dataset(), cfg, SalesSpec(TODAY, date_from=d("2025-06-01"), date_to=d("2025-08-31")))
    assert rows_of(r) == [("2025-06", 0, 0.0, 0.0), ("2025-07", 0, 0.0, 0.0), ("2025-08", 0, 0.0, 0.0)]
    assert r["won"] == 0 and r["revenue"] == 0.0


def test_filters_compose(cfg):
    r = sales_report(dataset(), cfg, SalesSpec(TODAY, by="product", owner="anna", source="web"))
    assert rows_of(r) == [("mat", 2, 10000.0, 9000.0)]
    r = sales_report(dataset(), cfg, SalesSpec(TODAY, by="owner", owner="boris", tag="retail"))
    assert rows_of(r) == [("boris", 2, 8500.0, 8500.0)]
    r = sales_report(dataset(), cfg, SalesSpec(TODAY, tag="vip", date_from=d("2026-02-01")))
    assert r["won"] == 1 and r["revenue"] == 9000.0


def test_bad_values(cfg):
    with pytest.raises(CrmError, match="--by must be one of: month, quarter, owner, source, product, tag"):
        sales_report(dataset(), cfg, SalesSpec(TODAY, by="nonsense"))
    with pytest.raises(CrmError, match="--season"):
        sales_report(dataset(), cfg, SalesSpec(TODAY, by="owner", season=True))
    with pytest.raises(CrmError, match="unknown owner"):
        sales_report(dataset(), cfg, SalesSpec(TODAY, owner="nobody"))


def test_empty_dataset(cfg):
    r = sales_report(Dataset(), cfg, SalesSpec(TODAY))
    assert r["rows"] == [] and r["won"] == 0 and r["revenue"] == 0.0
    assert "month" in render_table(r)


def test_table_has_bars_and_csv(cfg):
    r = sales_report(dataset(), cfg, SalesSpec(TODAY))
    text = render_table(r)
    may = next(line for line in text.splitlines() if line.startswith("2026-05"))
    june = next(line for line in text.splitlines() if line.startswith("2026-06"))
    assert may.count("█") == 30 and 0 < june.count("█") < 30
    assert "9,000.00" in may and "8,000.00" in may     # the constant-rate column shows
    assert "currency effect" in text
    assert "#" * 30 in render_table(r, unicode=False)
    headers, rows = csv_rows(r)
    assert headers == ["month", "won", "revenue", "revenue_constant"]
    assert rows[0] == ["2025-03", 1, 500.0, 500.0]
