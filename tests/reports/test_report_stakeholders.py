"""Stakeholders: goals, target dates and how the action plan goes."""
import json
from datetime import date

import pytest

from crmcli.errors import CrmError
from crmcli.reports.common import Dataset
from crmcli.reports.stakeholders import StakeholdersSpec, csv_rows, render_table, stakeholders_report

TODAY = date(2026, 3, 10)


def d(text):
    return date.fromisoformat(text) if text else None


def action(name, plan=None, fact=None):
    return {"name": name, "plan": d(plan), "fact": d(fact), "responsible": None, "resource": None}


def dataset():
    return Dataset(stakeholders=[
        {"id": "h1", "name": "Mayor office", "group": "city", "subgroup": "admin", "status": "lobbyist",
         "goal": "a permit", "target_date": d("2026-03-01"),
         "actions": [action("letter", "2026-02-01", "2026-02-03"), action("meeting", "2026-03-01"),
                     action("visit", "2026-04-01"), action("someday")]},
        {"id": "h2", "name": "Partner Co", "group": "business", "status": "partner", "owner": "anna",
         "target_date": d("2026-06-01"), "achieved": d("2026-02-20")},
        {"id": "h3", "name": "Blogger", "status": "moderator", "achieved": d("2026-04-01")},
    ])


def test_stakeholders_by_hand(cfg):
    r = stakeholders_report(dataset(), cfg, StakeholdersSpec(TODAY))
    assert [row["stakeholder"] for row in r["rows"]] == ["h2", "h1", "h3"]   # by group, none last
    h2, h1, h3 = r["rows"]
    assert h1 == {"stakeholder": "h1", "name": "Mayor office", "group": "city", "subgroup": "admin",
                  "status": "lobbyist", "goal": "a permit", "target_date": "2026-03-01",
                  "actions_planned": 4, "actions_done": 1, "actions_overdue": 1,
                  "achieved": False, "achieved_on": None, "goal_overdue": True}
    assert h2["achieved"] is True and h2["achieved_on"] == "2026-02-20" and h2["goal_overdue"] is False
    assert h3["achieved"] is False and h3["actions_planned"] == 0     # achieved only in the future
    assert r["stakeholders"] == 3 and r["achieved"] == 1 and r["goals_overdue"] == 1
    assert (r["actions_planned"], r["actions_done"], r["actions_overdue"]) == (4, 1, 1)
    assert r["by_status"] == {"partner": 1, "client": 0, "moderator": 1, "lobbyist": 1}
    json.dumps(r)


def test_filters(cfg):
    assert [x["stakeholder"] for x in stakeholders_report(
        dataset(), cfg, StakeholdersSpec(TODAY, owner="anna"))["rows"]] == ["h2"]
    assert [x["stakeholder"] for x in stakeholders_report(
        dataset(), cfg, StakeholdersSpec(TODAY, status="lobbyist", group="city"))["rows"]] == ["h1"]
    assert stakeholders_report(dataset(), cfg, StakeholdersSpec(TODAY, status="partner", group="city"))["rows"] == []
    with pytest.raises(CrmError, match="--status must be one of: partner, client, moderator, lobbyist"):
        stakeholders_report(dataset(), cfg, StakeholdersSpec(TODAY, status="boss"))
    with pytest.raises(CrmError, match="unknown owner"):
        stakeholders_report(dataset(), cfg, StakeholdersSpec(TODAY, owner="ghost"))


def test_table_and_csv(cfg):
    r = stakeholders_report(dataset(), cfg, StakeholdersSpec(TODAY))
    text = render_table(r)
    assert "Mayor office" in text and "✓ 2026-02-20" in text
    assert all(ord(ch) < 128 for ch in render_table(r, unicode=False))
    headers, rows = csv_rows(r)
    assert headers[0] == "stakeholder" and rows[0][0] == "h2"
