"""Funnel: figures computed by hand from seven deals (see the table in each test)."""
import json
from datetime import date
from decimal import Decimal as D

import pytest

from crmcli.errors import CrmError
from crmcli.reports.common import Dataset
from crmcli.reports.funnel import FunnelSpec, csv_rows, funnel_report, render_table

TODAY = date(2026, 3, 1)


def d(text):
    return date.fromisoformat(text)


def hist(*pairs):
    return [{"stage": s, "date": d(t)} for s, t in pairs]


def dataset():
    clients = [
        {"id": "c1", "name": "Acme", "owner": "anna", "tags": ["vip"], "source": "web"},
        {"id": "c2", "name": "Beta", "owner": "boris", "tags": ["retail"], "source": "exhibition"},
    ]
    deals = [
        # won through every stage: reached all 5
        {"id": "d1", "client": "c1", "owner": "anna", "stage": "won", "amount": D("1000"),
         "created": d("2026-01-01"),
         "history": hist(("lead", "2026-01-01"), ("qualified", "2026-01-05"),
                         ("proposal", "2026-01-15"), ("negotiation", "2026-01-20"),
                         ("won", "2026-02-01"))},
        # jumped lead -> proposal (reached qualified), lost there
        {"id": "d2", "client": "c2", "stage": "lost", "amount": D("500"), "lost_reason": "price",
         "history": hist(("lead", "2026-01-02"), ("proposal", "2026-01-12"), ("lost", "2026-01-22"))},
        # lost at lead
        {"id": "d3", "client": "c1", "stage": "lost", "amount": D("200"), "lost_reason": "no budget",
         "created": d("2026-01-03"),
         "history": hist(("lead", "2026-01-03"), ("lost", "2026-01-04"))},
        # open at qualified
        {"id": "d4", "client": "c2", "stage": "qualified", "amount": D("300"), "created": d("2026-01-10"),
         "history": hist(("lead", "2026-01-10"), ("qualified", "2026-01-20"))},
        # no history: entered negotiation on created
        {"id": "d5", "client": "c1", "stage": "negotiation", "amount": D("400"), "created": d("2026-02-01")},
        # won with no history, in dollars: 10 USD at 90 on 2026-02-10
        {"id": "d6", "client": "c2", "stage": "won", "amount": D("10"), "currency": "USD",
         "created": d("2026-02-10")},
        # lost at negotiation
        {"id": "d7", "client": "c1", "stage": "lost", "amount": D("100"), "lost_reason": "price",
         "created": d("2026-01-01"),
         "history": hist(("lead", "2026-01-01"), ("qualified", "2026-01-02"), ("proposal", "2026-01-03"),
                         ("negotiation", "2026-01-04"), ("lost", "2026-01-10"))},
    ]
    return Dataset(clients=clients, deals=deals)


def test_funnel_by_hand(cfg):
    r = funnel_report(dataset(), cfg, FunnelSpec(TODAY))
    assert r["deals"] == 7
    # reached: d1 won(4) d2 proposal(2) d3 lead(0) d4 qualified(1) d5 negotiation(3) d6 won(4) d7 negotiation(3)
    assert [s["stage"] for s in r["stages"]] == cfg.pipeline
    assert [s["reached"] for s in r["stages"]] == [7, 6, 5, 4, 2]
    assert [s["conversion"] for s in r["stages"]] == [0.8571, 0.8333, 0.8, 0.5, None]
    # lead: 4, 10, 1, 10, 1 -> 4; qualified: 10, 1 -> 5.5; proposal: 5, 10, 1 -> 5; negotiation 12, 6 -> 9
    assert [s["median_days"] for s in r["stages"]] == [4.0, 5.5, 5.0, 9.0, None]
    assert (r["open"], r["won"], r["lost"]) == (2, 2, 3)
    assert r["win_rate"] == 0.4
    assert r["won_amount"] == 1900.0          # 1000 + 10 USD * 90
    assert r["avg_won_amount"] == 950.0
    assert r["lost_amount"] == 800.0          # 500 + 200 + 100
    assert r["cycle_days"] == 15.5            # median(31, 0)
    assert r["velocity"] == 49.03             # 2 * 0.4 * 950 / 15.5 = 49.0322...
    assert r["lost_reasons"] == [{"reason": "price", "deals": 2}, {"reason": "no budget", "deals": 1}]
    assert r["currency"] == "RUB" and r["from"] is None and r["to"] is None
    json.dumps(r)


def test_funnel_keys_are_the_contract(cfg):
    r = funnel_report(dataset(), cfg, FunnelSpec(TODAY))
    assert list(r) == ["from", "to", "currency", "deals", "stages", "open", "won", "lost",
                       "win_rate", "won_amount", "avg_won_amount", "lost_amount", "cycle_days",
                       "velocity", "lost_reasons"]
    assert list(r["stages"][0]) == ["stage", "reached", "conversion", "median_days"]


@pytest.mark.parametrize("stage,reached", [
    ("lead", [1, 0, 0, 0, 0]), ("qualified", [1, 1, 0, 0, 0]), ("proposal", [1, 1, 1, 0, 0]),
    ("negotiation", [1, 1, 1, 1, 0]),
])
def test_lost_at_each_stage(cfg, stage, reached):
    path = cfg.pipeline[:cfg.pipeline.index(stage) + 1]
    history = [{"stage": s, "date": date(2026, 1, i + 1)} for i, s in enumerate(path)]
    history.append({"stage": "lost", "date": date(2026, 1, 20)})
    data = Dataset(deals=[{"id": "x", "client": "c", "stage": "lost", "history": history}])
    r = funnel_report(data, cfg, FunnelSpec(TODAY))
    assert [s["reached"] for s in r["stages"]] == reached
    assert r["lost"] == 1 and r["win_rate"] == 0.0


def test_skipped_stage_is_reached(cfg):
    data = Dataset(deals=[{"id": "x", "client": "c", "stage": "proposal",
                           "history": hist(("lead", "2026-01-01"), ("proposal", "2026-01-03"))}])
    r = funnel_report(data, cfg, FunnelSpec(TODAY))
    assert [s["reached"] for s in r["stages"]] == [1, 1, 1, 0, 0]
    assert r["stages"][0]["median_days"] == 2.0
    assert r["stages"][1]["median_days"] is None    # qualified was never entered


def test_deal_with_no_history_and_no_created(cfg):
    data = Dataset(deals=[{"id": "x", "client": "c", "stage": "won", "amount": D("5")}])
    r = funnel_report(data, cfg, FunnelSpec(TODAY))
    assert r["won"] == 1 and r["won_amount"] == 5.0 and r["cycle_days"] is None
    assert r["velocity"] is None
    # with a window, a deal with no date is outside it
    r = funnel_report(data, cfg, FunnelSpec(TODAY, date_from=d("2026-01-01")))
    assert r["deals"] == 0


def test_created_window_uses_first_history_entry(cfg):
    r = funnel_report(dataset(), cfg, FunnelSpec(TODAY, date_from=d("2026-01-02"), date_to=d("2026-01-10")))
    # created in window: d2 (first entry 01-02), d3 (01-03), d4 (01-10)
    assert r["deals"] == 3 and r["from"] == "2026-01-02" and r["to"] == "2026-01-10"
    assert (r["open"], r["won"], r["lost"]) == (1, 0, 2)
    assert r["win_rate"] == 0.0 and r["avg_won_amount"] is None and r["velocity"] is None


def test_period_with_no_deals(cfg):
    r = funnel_report(dataset(), cfg, FunnelSpec(TODAY, date_from=d("2025-01-01"), date_to=d("2025-12-31")))
    assert r["deals"] == 0 and r["win_rate"] is None and r["won_amount"] == 0.0
    assert all(s["reached"] == 0 and s["conversion"] is None for s in r["stages"])


def test_filters_compose(cfg):
    data = dataset()
    # owner: the deal's own, else its client's: anna has d1 (own), d3, d5, d7 (via c1)
    r = funnel_report(data, cfg, FunnelSpec(TODAY, owner="anna"))
    assert r["deals"] == 4
    # source: the client's where the deal has none; c2 came from the exhibition
    assert funnel_report(data, cfg, FunnelSpec(TODAY, source="exhibition"))["deals"] == 3
    assert funnel_report(data, cfg, FunnelSpec(TODAY, tag="retail"))["deals"] == 3
    # composed: anna AND exhibition -> nothing; boris AND retail AND created in January -> d2, d4
    assert funnel_report(data, cfg, FunnelSpec(TODAY, owner="anna", source="exhibition"))["deals"] == 0
    r = funnel_report(data, cfg, FunnelSpec(TODAY, owner="boris", tag="retail",
                                            date_to=d("2026-01-31")))
    assert r["deals"] == 2


def test_deal_source_overrides_client_source(cfg):
    data = dataset()
    data.deals[0]["source"] = "exhibition"   # d1's client c1 came from the web
    assert funnel_report(data, cfg, FunnelSpec(TODAY, source="exhibition"))["deals"] == 4
    assert funnel_report(data, cfg, FunnelSpec(TODAY, source="web"))["deals"] == 3


def test_bad_filters_raise(cfg):
    with pytest.raises(CrmError, match="unknown owner 'ghost'"):
        funnel_report(dataset(), cfg, FunnelSpec(TODAY, owner="ghost"))
    with pytest.raises(CrmError, match="after"):
        funnel_report(dataset(), cfg, FunnelSpec(TODAY, date_from=d("2026-02-01"), date_to=d("2026-01-01")))


def test_amount_defaults_to_quantity_times_price(cfg):
    data = Dataset(deals=[{"id": "x", "client": "c", "stage": "won", "quantity": D("3"),
                           "unit_price": D("2.5"), "created": d("2026-01-01")}])
    assert funnel_report(data, cfg, FunnelSpec(TODAY))["won_amount"] == 7.5


def test_pictures_and_csv(cfg):
    r = funnel_report(dataset(), cfg, FunnelSpec(TODAY))
    text = render_table(r)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["stage", "reached"]
    lead, won = lines[2], lines[6]
    assert lead.count("█") == 30 and "█" in won and won.count("█") < lead.count("█")
    assert "85.7%" in lead and "price" in text
    ascii_text = render_table(r, unicode=False)
    assert "█" not in ascii_text and "#" * 30 in ascii_text
    assert all(ord(ch) < 128 for ch in ascii_text)
    headers, rows = csv_rows(r)
    assert headers == ["stage", "reached", "conversion", "median_days"]
    assert rows[0] == ["lead", 7, 0.8571, 4.0] and rows[-1] == ["won", 2, "", ""]
