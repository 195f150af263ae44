"""Managers: each owner's activities, tasks and deals, computed by hand."""
import json
from datetime import date, datetime
from decimal import Decimal as D

import pytest

from crmcli.errors import CrmError
from crmcli.reports.common import Dataset
from crmcli.reports.managers import ManagersSpec, csv_rows, managers_report, render_table

TODAY = date(2026, 3, 1)


def d(text):
    return date.fromisoformat(text)


def deal(id_, client, created, stage, closed=None, amount="0", **kw):
    history = [{"stage": "lead", "date": d(created)}]
    if closed:
        history.append({"stage": stage, "date": d(closed)})
    return {"id": id_, "client": client, "stage": stage, "created": d(created), "history": history,
            "amount": D(amount), **kw}


def dataset():
    clients = [{"id": "c1", "name": "Acme", "owner": "anna", "tags": ["vip"]},
               {"id": "c2", "name": "Beta", "owner": "boris"},
               {"id": "c3", "name": "Gamma"}]
    activities = [
        {"id": "a1", "client": "c1", "type": "call", "status": "done", "date": d("2026-02-01"), "owner": "anna"},
        {"id": "a2", "client": "c1", "type": "visit", "status": "done", "date": d("2026-01-20")},  # client's owner
        {"id": "a3", "client": "c2", "type": "task", "status": "planned", "date": d("2026-02-20"), "owner": "boris"},
        {"id": "a4", "client": "c2", "type": "task", "status": "planned", "date": d("2026-03-05"), "owner": "boris"},
        {"id": "a5", "client": "c2", "type": "task", "status": "planned", "date": d("2026-03-01"), "owner": "boris"},
        {"id": "a6", "client": "c1", "type": "call", "status": "cancelled", "date": d("2026-02-01"), "owner": "anna"},
        {"id": "a7", "client": "c3", "type": "call", "status": "done", "date": d("2025-12-01")},   # nobody's
        {"id": "a8", "deal": "m1", "type": "meeting", "date": datetime(2026, 1, 10, 15, 30)},     # done by default
    ]
    deals = [
        deal("m1", "c2", "2026-01-01", "won", "2026-01-21", "1000", owner="boris"),     # 20 days
        deal("m2", "c2", "2026-01-01", "won", "2026-02-10", "10", owner="vera", currency="USD"),  # 40 days, 900
        deal("m3", "c1", "2026-01-01", "lost", "2026-02-15", owner="anna"),
        deal("m4", "c1", "2026-01-01", "proposal", owner="anna"),
        deal("m5", "c1", "2026-01-01", "lost", "2026-01-05", owner="boris"),
        deal("m6", "c2", "2025-12-01", "won", "2026-01-01", "500"),                     # 31 days, boris via c2
    ]
    return Dataset(clients=clients, deals=deals, activities=activities)


def by_owner(result):
    return {r["owner"]: r for r in result["rows"]}


def test_managers_by_hand(cfg):
    r = managers_report(dataset(), cfg, ManagersSpec(TODAY))
    assert [row["owner"] for row in r["rows"]] == ["anna", "boris", "vera", None]
    rows = by_owner(r)
    assert rows["anna"] == {
        "owner": "anna", "name": "Anna Petrova", "manager": None, "team": ["boris", "vera"],
        "activities_done": 2, "tasks_overdue": 0, "open": 1, "won": 0, "lost": 1,
        "win_rate": 0.0, "revenue": 0.0, "cycle_days": None}
    assert rows["boris"] == {
        "owner": "boris", "name": "Boris Ivanov", "manager": "anna", "team": ["vera"],
        "activities_done": 1, "tasks_overdue": 1, "open": 0, "won": 2, "lost": 1,
        "win_rate": 0.6667, "revenue": 1500.0, "cycle_days": 25.5}
    assert rows["vera"]["won"] == 1 and rows["vera"]["revenue"] == 900.0 and rows["vera"]["cycle_days"] == 40.0
    assert rows["vera"]["win_rate"] == 1.0 and rows["vera"]["team"] == []
    assert rows[None]["activities_done"] == 1 and rows[None]["name"] is None
    assert (r["activities_done"], r["tasks_overdue"], r["open"], r["won"], r["lost"]) == (4, 1, 1, 3, 2)
    assert r["win_rate"] == 0.6 and r["revenue"] == 2400.0 and r["cycle_days"] == 31.0
    json.dumps(r)


def test_window(cfg):
    r = managers_report(dataset(), cfg, ManagersSpec(TODAY, date_from=d("2026-01-15"), date_to=d("2026-02-28")))
    rows = by_owner(r)
    assert None not in rows
    assert (rows["anna"]["activities_done"], rows["anna"]["open"], rows["anna"]["lost"]) == (2, 1, 1)
    assert (rows["boris"]["activities_done"], rows["boris"]["won"], rows["boris"]["lost"]) == (0, 1, 0)
    assert rows["boris"]["tasks_overdue"] == 1       # overdue is as of today, whatever the window
    assert rows["vera"]["won"] == 1


def test_filters_compose_and_bad_owner(cfg):
    r = managers_report(dataset(), cfg, ManagersSpec(TODAY, owner="boris"))
    assert [row["owner"] for row in r["rows"]] == ["boris"] and r["won"] == 2
    r = managers_report(dataset(), cfg, ManagersSpec(TODAY, tag="vip"))
    rows = by_owner(r)
    assert rows["anna"]["activities_done"] == 2 and rows["boris"]["lost"] == 1 and rows["boris"]["won"] == 0
    r = managers_report(dataset(), cfg, ManagersSpec(TODAY, tag="vip", owner="anna"))
    assert r["open"] == 1 and r["lost"] == 1 and r["won"] == 0
    with pytest.raises(CrmError, match="unknown owner"):
        managers_report(dataset(), cfg, ManagersSpec(TODAY, owner="zoe"))


def test_empty_dataset_lists_the_owners(cfg):
    r = managers_report(Dataset(), cfg, ManagersSpec(TODAY))
    assert [row["owner"] for row in r["rows"]] == ["anna", "boris", "vera"]
    assert all(row["win_rate"] is None and row["cycle_days"] is None for row in r["rows"])
    assert r["revenue"] == 0.0 and r["win_rate"] is None


def test_table_and_csv(cfg):
    r = managers_report(dataset(), cfg, ManagersSpec(TODAY))
    text = render_table(r)
    assert "Boris Ivanov" in text and "66.7%" in text and "(none)" in text
    headers, rows = csv_rows(r)
    assert headers[0] == "owner" and headers[-1] == "cycle_days"
    assert rows[0][3] == "boris;vera"
