"""Sources: clients, customers, cost and ROI per advertising channel."""
import json
from datetime import date
from decimal import Decimal as D

import pytest

from crmcli.errors import CrmError
from crmcli.reports.common import Dataset
from crmcli.reports.sources import SourcesSpec, csv_rows, render_table, sources_report

TODAY = date(2026, 3, 1)   # exhibition costs 1000 in conftest, web has no cost


def d(text):
    return date.fromisoformat(text)


def won(id_, client, day, amount, **kw):
    return {"id": id_, "client": client, "stage": "won", "amount": D(amount),
            "history": [{"stage": "won", "date": d(day)}], **kw}


def dataset():
    clients = [
        {"id": "k1", "name": "K1", "source": "exhibition", "created": d("2026-01-05"), "owner": "anna"},
        {"id": "k2", "name": "K2", "source": "exhibition", "created": d("2026-02-01"), "owner": "boris"},
        {"id": "k3", "name": "K3", "source": "exhibition", "created": d("2025-06-01"), "owner": "anna"},
        {"id": "k4", "name": "K4", "source": "web", "created": d("2026-01-10"), "tags": ["vip"]},
        {"id": "k5", "name": "K5"},
        {"id": "k6", "name": "K6", "source": "radio", "created": d("2026-02-15")},
    ]
    deals = [
        won("w1", "k1", "2026-01-20", "3000"),
        {"id": "o2", "client": "k2", "stage": "lead", "amount": D("9999")},
        won("w3", "k3", "2025-07-01", "1000"),
        won("w4", "k4", "2026-02-01", "500", source="exhibition"),   # the deal's own source counts
        won("w6", "k6", "2026-02-20", "200"),
    ]
    return Dataset(clients=clients, deals=deals)


def test_sources_by_hand(cfg):
    r = sources_report(dataset(), cfg, SourcesSpec(TODAY))
    assert [row["source"] for row in r["rows"]] == ["exhibition", "web", "radio", None]
    ex, web, radio, none = r["rows"]
    assert ex == {"source": "exhibition", "clients": 3, "customers": 2, "conversion": 0.6667,
                  "revenue": 4500.0, "cost": 1000.0, "cost_per_lead": 333.33,
                  "cost_per_customer": 500.0, "roi": 3.5}
    assert web == {"source": "web", "clients": 1, "customers": 1, "conversion": 1.0, "revenue": 0.0,
                   "cost": None, "cost_per_lead": None, "cost_per_customer": None, "roi": None}
    assert (radio["clients"], radio["customers"], radio["revenue"]) == (1, 1, 200.0)
    assert (none["clients"], none["customers"], none["conversion"]) == (1, 0, 0.0)
    assert (r["clients"], r["customers"], r["conversion"]) == (6, 4, 0.6667)
    assert (r["revenue"], r["cost"], r["roi"]) == (4700.0, 1000.0, 3.7)
    json.dumps(r)


def test_window_and_filters(cfg):
    r = sources_report(dataset(), cfg, SourcesSpec(TODAY, date_from=d("2026-01-01")))
    ex = r["rows"][0]
    assert (ex["clients"], ex["customers"], ex["revenue"], ex["roi"]) == (2, 1, 3500.0, 2.5)
    assert None not in [row["source"] for row in r["rows"]]     # k5 has no created date
    r = sources_report(dataset(), cfg, SourcesSpec(TODAY, source="exhibition"))
    assert [row["source"] for row in r["rows"]] == ["exhibition"] and r["revenue"] == 4500.0
    r = sources_report(dataset(), cfg, SourcesSpec(TODAY, owner="anna", source="exhibition"))
    assert r["rows"][0]["clients"] == 2 and r["rows"][0]["customers"] == 2
    r = sources_report(dataset(), cfg, SourcesSpec(TODAY, tag="vip"))
    assert r["clients"] == 1 and r["revenue"] == 500.0
    with pytest.raises(CrmError):
        sources_report(dataset(), cfg, SourcesSpec(TODAY, owner="ghost"))


def test_empty_and_zero_cost(cfg):
    r = sources_report(Dataset(), cfg, SourcesSpec(TODAY))
    assert [row["source"] for row in r["rows"]] == ["exhibition", "web"]
    assert r["rows"][0]["roi"] == -1.0 and r["rows"][0]["cost_per_customer"] is None
    cfg.sources["web"] = {"cost": D("0")}
    r = sources_report(dataset(), cfg, SourcesSpec(TODAY, source="web"))
    assert r["rows"][0]["cost"] == 0.0 and r["rows"][0]["roi"] is None


def test_table_and_csv(cfg):
    r = sources_report(dataset(), cfg, SourcesSpec(TODAY))
    text = render_table(r)
    assert "350.0%" in text and "333.33" in text and "(none)" in text
    headers, rows = csv_rows(r)
    assert headers[0] == "source" and rows[1][5] == ""
