"""Retention: cohorts, repeat rate and churn computed by hand."""
import json
from datetime import date
from decimal import Decimal as D

import pytest

from crmcli.errors import CrmError
from crmcli.reports.common import Dataset
from crmcli.reports.retention import RetentionSpec, csv_rows, render_table, retention_report

TODAY = date(2026, 4, 15)


def won(id_, client, day, amount="100", **kw):
    return {"id": id_, "client": client, "stage": "won", "amount": D(amount),
            "history": [{"stage": "lead", "date": date(2024, 1, 1)},
                        {"stage": "won", "date": date.fromisoformat(day)}], **kw}


def dataset():
    clients = [{"id": c, "name": c.upper(), "owner": "anna" if c in ("c1", "c2") else "boris"}
               for c in ("c1", "c2", "c3", "c4", "c5")]
    deals = [
        won("a", "c1", "2026-01-10"), won("b", "c1", "2026-03-05"),    # cohort Jan, back in March
        won("c", "c2", "2026-01-20", "300"),                            # cohort Jan, no repeat
        won("d", "c3", "2026-02-01"), won("e", "c3", "2026-02-20"),    # two purchases in one month
        won("f", "c4", "2024-12-01", "50"),                             # churned: > 365 days ago
        {"id": "g", "client": "c5", "stage": "negotiation", "amount": D("999")},  # a prospect
        {"id": "h", "client": "c5", "stage": "lost", "amount": D("999"),
         "history": [{"stage": "won", "date": date(2026, 1, 5)}, {"stage": "lost", "date": date(2026, 1, 6)}]},
    ]
    return Dataset(clients=clients, deals=deals)


def test_retention_by_month(cfg):
    r = retention_report(dataset(), cfg, RetentionSpec(TODAY))
    assert r["period"] == "month"
    assert r["customers"] == 4                      # c1..c4; c5 has no deal now in the won stage
    assert r["repeat_customers"] == 2 and r["repeat_rate"] == 0.5    # c1, c3
    assert r["churned"] == 1 and r["churn_rate"] == 0.25             # c4
    assert r["revenue"] == 750.0                    # 100*4 + 300 + 50
    assert r["revenue_per_customer"] == 187.5
    assert r["churned_revenue"] == 50.0
    cohorts = {c["cohort"]: c for c in r["cohorts"]}
    assert list(cohorts) == ["2024-12", "2026-01", "2026-02"]
    # January: c1 and c2; in March only c1 comes back; the list runs to April (today)
    assert cohorts["2026-01"] == {"cohort": "2026-01", "size": 2, "retention": [1.0, 0.0, 0.5, 0.0]}
    # February: c3 bought twice in its own month, never after: a cohort with no repeat
    assert cohorts["2026-02"]["retention"] == [1.0, 0.0, 0.0]
    # December 2024 through April 2026: 17 periods
    assert len(cohorts["2024-12"]["retention"]) == 17 and cohorts["2024-12"]["retention"][1:] == [0.0] * 16
    json.dumps(r)


def test_contract_keys(cfg):
    r = retention_report(dataset(), cfg, RetentionSpec(TODAY))
    for key in ("period", "customers", "repeat_customers", "repeat_rate", "churned", "churn_rate",
                "revenue_per_customer", "cohorts"):
        assert key in r
    assert list(r["cohorts"][0]) == ["cohort", "size", "retention"]


def test_quarter_and_year_labels(cfg):
    r = retention_report(dataset(), cfg, RetentionSpec(TODAY, period="quarter"))
    assert [(c["cohort"], c["size"], c["retention"]) for c in r["cohorts"]] == [
        ("2024-Q4", 1, [1.0] + [0.0] * 6),          # 2024-Q4 .. 2026-Q2
        ("2026-Q1", 3, [1.0, 0.0]),
    ]
    r = retention_report(dataset(), cfg, RetentionSpec(TODAY, period="year"))
    assert [(c["cohort"], c["retention"]) for c in r["cohorts"]] == [("2024", [1.0, 0.0, 0.0]),
                                                                    ("2026", [1.0])]


def test_thirds_round_to_four_places(cfg):
    deals = [won("a", "x", "2026-01-02"), won("b", "y", "2026-01-03"), won("c", "z", "2026-01-04"),
             won("d", "x", "2026-02-02")]
    r = retention_report(Dataset(deals=deals), cfg, RetentionSpec(date(2026, 2, 28)))
    assert r["cohorts"] == [{"cohort": "2026-01", "size": 3, "retention": [1.0, 0.3333]}]
    assert r["repeat_rate"] == 0.3333


def test_filters(cfg):
    r = retention_report(dataset(), cfg, RetentionSpec(TODAY, owner="boris"))
    assert r["customers"] == 2                      # c3, c4 through their client's owner
    assert retention_report(dataset(), cfg, RetentionSpec(TODAY, tag="nothing"))["customers"] == 0


def test_empty_and_bad_period(cfg):
    r = retention_report(Dataset(), cfg, RetentionSpec(TODAY, period="year"))
    assert r["customers"] == 0 and r["cohorts"] == []
    assert r["repeat_rate"] is None and r["churn_rate"] is None and r["revenue_per_customer"] is None
    with pytest.raises(CrmError, match="--period must be one of: month, quarter, year"):
        retention_report(Dataset(), cfg, RetentionSpec(TODAY, period="week"))


def test_heat_map_and_csv(cfg):
    r = retention_report(dataset(), cfg, RetentionSpec(TODAY))
    text = render_table(r)
    jan = next(line for line in text.splitlines() if line.startswith("2026-01"))
    assert "█  100%" in jan and "▓   50%" in jan and "0%" in jan
    ascii_text = render_table(r, unicode=False)
    assert all(ord(ch) < 128 for ch in ascii_text) and "#  100%" in ascii_text
    headers, rows = csv_rows(r)
    assert headers[:3] == ["cohort", "size", "retention[0]"] and headers[-1] == "retention[16]"
    jan_row = next(row for row in rows if row[0] == "2026-01")
    assert jan_row[:6] == ["2026-01", 2, 1.0, 0.0, 0.5, 0.0] and jan_row[6:] == [""] * 13
