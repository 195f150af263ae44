"""Competitors: who also serves our clients, which deals they contest, how we fare."""
import json
from datetime import date
from decimal import Decimal as D

import pytest

from crmcli.errors import CrmError
from crmcli.reports.common import Dataset
from crmcli.reports.competitors import CompetitorsSpec, competitors_report, csv_rows, render_table

TODAY = date(2026, 3, 10)


def d(text):
    return date.fromisoformat(text)


def deal(id_, client, stage, created, **kw):
    return {"id": id_, "client": client, "stage": stage, "created": d(created), "amount": D("1"), **kw}


def dataset():
    competitors = [{"id": "r1", "name": "Rival One"}, {"id": "r2", "name": "Rival Two"},
                   {"id": "r3", "name": "Quiet"}]
    clients = [{"id": "c1", "name": "A", "competitors": ["r1", "r2"], "owner": "anna"},
               {"id": "c2", "name": "B", "competitors": ["r1"], "owner": "boris"},
               {"id": "c3", "name": "C", "owner": "anna"}]
    deals = [
        deal("x1", "c1", "won", "2026-01-01", competitors=["r1"]),
        deal("x2", "c1", "lost", "2026-01-05", competitors=["r1", "r2"], lost_to="r2"),
        deal("x3", "c2", "lost", "2026-02-01", lost_to="r1"),            # lost_to alone contests
        deal("x4", "c2", "proposal", "2026-02-10", competitors=["r2"]),
        deal("x5", "c3", "lost", "2026-02-15", competitors=["r1"], lost_reason="price"),
        deal("x6", "c3", "won", "2026-02-20"),
        deal("x7", "c3", "won", "2026-03-01", competitors=["ghost"]),    # no such record: still listed
    ]
    return Dataset(clients=clients, deals=deals, competitors=competitors)


def test_competitors_by_hand(cfg):
    r = competitors_report(dataset(), cfg, CompetitorsSpec(TODAY))
    assert [row["competitor"] for row in r["rows"]] == ["r1", "r2", "ghost", "r3"]
    r1, r2, ghost, r3 = r["rows"]
    assert r1 == {"competitor": "r1", "name": "Rival One", "clients": 2, "deals_contested": 4,
                  "lost_to": 1, "won_against": 1, "win_rate": 0.25}
    assert (r2["clients"], r2["deals_contested"], r2["lost_to"], r2["won_against"], r2["win_rate"]) == \
        (1, 2, 1, 0, 0.0)
    assert ghost["name"] is None and ghost["win_rate"] == 1.0
    assert (r3["clients"], r3["deals_contested"], r3["win_rate"]) == (0, 0, None)
    assert (r["deals_contested"], r["won_against"], r["lost_to"], r["win_rate"]) == (6, 2, 2, 0.4)
    json.dumps(r)


def test_window_and_filters(cfg):
    r = competitors_report(dataset(), cfg, CompetitorsSpec(TODAY, date_to=d("2026-01-31")))
    rows = {row["competitor"]: row for row in r["rows"]}
    assert rows["r1"]["deals_contested"] == 2 and rows["r2"]["deals_contested"] == 1
    assert rows["r1"]["clients"] == 2           # clients are not dated
    r = competitors_report(dataset(), cfg, CompetitorsSpec(TODAY, owner="boris"))
    rows = {row["competitor"]: row for row in r["rows"]}
    assert (rows["r1"]["clients"], rows["r1"]["deals_contested"], rows["r1"]["lost_to"]) == (1, 1, 1)
    assert rows["r2"]["deals_contested"] == 1 and rows["r2"]["clients"] == 0
    r = competitors_report(dataset(), cfg, CompetitorsSpec(TODAY, owner="anna", date_from=d("2026-02-01")))
    assert r["deals_contested"] == 2              # x5, x7
    with pytest.raises(CrmError):
        competitors_report(dataset(), cfg, CompetitorsSpec(TODAY, owner="ghost"))


def test_empty(cfg):
    r = competitors_report(Dataset(), cfg, CompetitorsSpec(TODAY))
    assert r["rows"] == [] and r["win_rate"] is None and r["deals_contested"] == 0


def test_table_and_csv(cfg):
    r = competitors_report(dataset(), cfg, CompetitorsSpec(TODAY))
    assert "Rival One" in render_table(r) and "25.0%" in render_table(r)
    headers, rows = csv_rows(r)
    assert headers == ["competitor", "name", "clients", "deals_contested", "lost_to",
                       "won_against", "win_rate"]
    assert rows[2] == ["ghost", "", 0, 1, 0, 1, 1.0]
